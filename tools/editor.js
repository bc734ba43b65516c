// The stack editor's code editor: CodeMirror 6 (line numbers, history, search, brackets,
// YAML highlighting) behind the small global `BerthEditor` that app/src/code_editor.rs binds.
// scripts/tools.sh bundles this file with esbuild into public/editor/editor.js, which the
// browser loads only when a page first shows an editor.
import { basicSetup } from "codemirror";
import { yaml } from "@codemirror/lang-yaml";
import { EditorView, Decoration, keymap } from "@codemirror/view";
import { Compartment, EditorState, StateEffect, StateField, Prec } from "@codemirror/state";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";

// Marks one line (1-based; 0 clears): where `compose config` said the file is wrong.
const markLine = StateEffect.define();

const marked = StateField.define({
  create: () => Decoration.none,
  update(decorations, tr) {
    decorations = decorations.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(markLine)) continue;
      const n = effect.value;
      decorations =
        n >= 1 && n <= tr.state.doc.lines
          ? Decoration.set([
              Decoration.line({ class: "cm-error-line", attributes: { "data-error-line": String(n) } }).range(
                tr.state.doc.line(n).from,
              ),
            ])
          : Decoration.none;
    }
    return decorations;
  },
  provide: (field) => EditorView.decorations.from(field),
});

// Colours from Berth's own stylesheet, so the editor follows the light and dark themes.
const theme = EditorView.theme({
  "&": { backgroundColor: "var(--panel)", color: "var(--text)", border: "1px solid var(--border)" },
  ".cm-gutters": { backgroundColor: "var(--bg)", color: "var(--muted)", border: "none" },
  ".cm-activeLine, .cm-activeLineGutter": { backgroundColor: "color-mix(in srgb, var(--accent) 8%, transparent)" },
  ".cm-error-line": { backgroundColor: "color-mix(in srgb, var(--bad) 22%, transparent)" },
  "&.cm-focused": { outline: "2px solid var(--accent)" },
  ".cm-content": { caretColor: "var(--text)", fontFamily: "var(--mono)" },
});

const locked = (on) => (on ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : []);

// YAML's colours from the same variables, which meet WCAG AA on the editor's background in
// both themes (CodeMirror's default style is for light backgrounds only).
const highlight = HighlightStyle.define([
  { tag: [tags.propertyName, tags.definition(tags.propertyName)], color: "var(--accent)" },
  { tag: [tags.string, tags.special(tags.string)], color: "var(--ok)" },
  { tag: [tags.number, tags.bool, tags.null, tags.atom, tags.keyword], color: "var(--warn)" },
  { tag: [tags.comment, tags.meta, tags.punctuation, tags.separator], color: "var(--muted)" },
  { tag: tags.invalid, color: "var(--bad)" },
]);

class Editor {
  // `options`: { doc, yaml, readOnly, label, onChange(text), onSave() }.
  constructor(parent, options) {
    const extensions = [
      // Ctrl-S (Cmd-S) saves the stack rather than the page.
      Prec.highest(
        keymap.of([
          {
            key: "Mod-s",
            preventDefault: true,
            run: () => {
              options.onSave();
              return true;
            },
          },
        ]),
      ),
      basicSetup,
      syntaxHighlighting(highlight),
      marked,
      theme,
      EditorView.contentAttributes.of({ "aria-label": options.label || "editor" }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) options.onChange(update.state.doc.toString());
      }),
    ];
    if (options.yaml) extensions.push(yaml());
    this.readOnly = new Compartment();
    extensions.push(this.readOnly.of(locked(options.readOnly)));
    this.view = new EditorView({
      state: EditorState.create({ doc: options.doc || "", extensions }),
      parent,
    });
  }

  value() {
    return this.view.state.doc.toString();
  }

  // Replaces the text (a restore, a reload) unless it is already that text.
  setValue(text) {
    if (text === this.value()) return;
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text } });
  }

  // For viewers, and while the page does not yet know who is signed in.
  setReadOnly(on) {
    this.view.dispatch({ effects: this.readOnly.reconfigure(locked(on)) });
  }

  mark(line) {
    const effects = [markLine.of(line)];
    if (line >= 1 && line <= this.view.state.doc.lines) {
      effects.push(EditorView.scrollIntoView(this.view.state.doc.line(line).from, { y: "center" }));
    }
    this.view.dispatch({ effects });
  }

  focus() {
    this.view.focus();
  }

  destroy() {
    this.view.destroy();
  }
}

globalThis.BerthEditor = Editor;
