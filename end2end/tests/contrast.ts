// WCAG AA contrast over a rendered page, from computed styles: every element with text of
// its own, its colour against the background it is drawn on (ancestors' backgrounds
// blended, translucent ones included), 4.5:1 for normal text and 3:1 for large (24 px, or
// 18.66 px bold). Left out: what a container printed in its own ANSI colours, the
// terminal's screen (xterm's theme), disabled controls (WCAG exempts them), and charts' drawings.
import { Page } from '@playwright/test';

export async function lowContrast(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    type Rgba = { r: number; g: number; b: number; a: number };
    const parse = (c: string): Rgba | null => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const p = m[1].split(',').map((x) => parseFloat(x));
      return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
    };
    const channel = (v: number) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    const luminance = (c: Rgba) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
    const over = (top: Rgba, under: Rgba): Rgba => ({
      r: top.r * top.a + under.r * (1 - top.a),
      g: top.g * top.a + under.g * (1 - top.a),
      b: top.b * top.a + under.b * (1 - top.a),
      a: 1,
    });
    const backdrop = (el: Element): Rgba => {
      const layers: Rgba[] = [];
      for (let e: Element | null = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0) {
          layers.push(c);
          if (c.a >= 1) break;
        }
      }
      let bg = layers.length && layers[layers.length - 1].a >= 1 ? layers.pop()! : { r: 255, g: 255, b: 255, a: 1 };
      for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
      return bg;
    };
    const low: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      const text = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim());
      if (!text || el.getClientRects().length === 0) continue;
      if (el.closest('.xterm, .chart svg, [disabled], [class*="ansi-"]')) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden') continue;
      const bg = backdrop(el);
      const fg = over(parse(style.color)!, bg);
      const [a, b] = [luminance(fg), luminance(bg)];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (parseInt(style.fontWeight, 10) >= 700 && size >= 18.66);
      const needed = large ? 3 : 4.5;
      if (ratio < needed) {
        low.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent!.trim().slice(0, 40)}": ${ratio.toFixed(2)} < ${needed} (${style.color} on rgb(${Math.round(bg.r)}, ${Math.round(bg.g)}, ${Math.round(bg.b)}))`);
      }
    }
    return [...new Set(low)];
  });
}
