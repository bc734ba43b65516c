//! A stack's files on its page: `compose.yaml` and `.env` side by side in the code editor,
//! saved with the button or Ctrl-S (the compose CLI's error marked at its line), and the
//! versions every save kept, each with its diff against the editor's text and a restore;
//! for an external project, its compose file read-only where Berth can read it.

use super::container_actions::ForOperators;
use super::stack::StackContext;
use crate::code_editor::CodeEditor;
use crate::controls::{AskFirst, Feedback};
use crate::diff::{self, Line};
use crate::layout::CurrentUser;
use crate::model::{
    ExternalFile, GetExternalStackFile, GetStackVersion, ListStackVersions, RestoreStackVersion,
    SaveOptions, SaveStack, Stack, StackFiles, error_line,
};
use crate::{Hydrated, api, format};
use leptos::prelude::*;

/// The editor's text for both files, and what was last saved.
#[derive(Clone, Copy)]
pub(super) struct Texts {
    compose: RwSignal<String>,
    env: RwSignal<String>,
    saved: RwSignal<StackFiles>,
    /// The compose file's line the last refused save named.
    error_at: RwSignal<Option<u32>>,
}

impl Texts {
    pub fn of(files: &StackFiles) -> Self {
        Self {
            compose: RwSignal::new(files.compose.clone()),
            env: RwSignal::new(files.env.clone()),
            saved: RwSignal::new(files.clone()),
            error_at: RwSignal::new(None),
        }
    }

    pub fn dirty(self) -> bool {
        self.saved.with(|saved| {
            self.compose.with(|c| *c != saved.compose) || self.env.with(|e| *e != saved.env)
        })
    }

    /// Takes a restored version as the saved and shown text.
    fn take(self, stack: &Stack) {
        self.compose.try_set(stack.files.compose.clone());
        self.env.try_set(stack.files.env.clone());
        self.saved.try_set(stack.files.clone());
        self.error_at.try_set(None);
    }
}

#[component]
pub(super) fn StackEditor() -> impl IntoView {
    let context = expect_context::<StackContext>();
    let hydrated = expect_context::<Hydrated>().0;
    let texts = context.texts;
    let feedback = Feedback::new();
    let error_at = texts.error_at;
    let saving = RwSignal::new(false);
    // Viewers read the files; until the page knows who is signed in, nobody edits.
    let me = expect_context::<CurrentUser>().0;
    let read_only = Signal::derive(move || {
        !me.get()
            .and_then(Result::ok)
            .is_some_and(|me| me.may_operate())
    });
    let save = Callback::new(move |()| {
        // Every save is a version: one that changes nothing is not made.
        if saving.get_untracked() || !texts.dirty() {
            return;
        }
        saving.set(true);
        error_at.set(None);
        let files = StackFiles {
            compose: texts.compose.get_untracked(),
            env: texts.env.get_untracked(),
        };
        let call = api::call(
            context.on.get_value(),
            SaveStack {
                name: context.name.get_value(),
            },
            SaveOptions::default(),
            files,
        );
        leptos::task::spawn_local(async move {
            let said = match call.await {
                Ok(stack) => {
                    // What was sent; text typed meanwhile stays in the editor, not saved.
                    texts.saved.try_set(stack.files.clone());
                    let version = stack.version;
                    context.stack.try_set(stack);
                    context.history.now();
                    Ok(format!("saved as version {version}"))
                }
                Err(e) => {
                    // The compose CLI names the line of a file it cannot read.
                    error_at.try_set(error_line(&e.error).filter(|_| e.status == 422));
                    Err(e.error)
                }
            };
            feedback.say(said);
            saving.try_set(false);
        });
    });
    view! {
        <section class="stack-files">
            <h2>
                "Files "
                <span class="muted" data-testid="stack-version">
                    {move || {
                        let version = context.stack.with(|s| s.version);
                        match texts.dirty() {
                            true => format!("version {version}, changed: not saved"),
                            false => format!("version {version}"),
                        }
                    }}
                </span>
            </h2>
            <div class="editor-pair">
                <div data-testid="compose-editor">
                    <h3 class="mono">
                        {move || {
                            context.stack.with(|s| s.summary.file.clone()).unwrap_or_else(|| "compose.yaml".into())
                        }}
                    </h3>
                    <CodeEditor
                        text=texts.compose
                        label="compose file"
                        yaml=true
                        read_only
                        error_line=error_at
                        on_save=save
                    />
                </div>
                <div data-testid="env-editor">
                    <h3 class="mono">".env"</h3>
                    <CodeEditor
                        text=texts.env
                        label="env file"
                        read_only
                        error_line=Signal::stored(None)
                        on_save=save
                    />
                </div>
            </div>
            <ForOperators>
                <p>
                    <button
                        type="button"
                        class="primary"
                        data-testid="save-stack"
                        disabled=move || !hydrated.get() || saving.get() || !texts.dirty()
                        on:click=move |_| save.run(())
                    >
                        "Save"
                    </button>
                    <span class="muted">" Ctrl-S in the editor saves too."</span>
                </p>
            </ForOperators>
            <div data-testid="save-said">{feedback.view()}</div>
        </section>
    }
}

/// The versions, newest first; one picked shows its diff against the editor's text, and
/// can be restored (asked first; a restore is a save like any other).
#[component]
pub(super) fn StackVersions() -> impl IntoView {
    let context = expect_context::<StackContext>();
    let texts = context.texts;
    let versions = Resource::new(
        move || context.history.count(),
        move |_| {
            api::read(
                context.on.get_value(),
                ListStackVersions {
                    name: context.name.get_value(),
                },
            )
        },
    );
    let picked = RwSignal::new(None::<u64>);
    let rows = move || {
        Suspend::new(async move {
            match versions.await {
                Ok(list) if list.is_empty() => {
                    view! { <p class="muted">"No versions yet."</p> }.into_any()
                }
                Ok(list) => {
                    let rows = list
                        .into_iter()
                        .map(|v| {
                            let n = v.n;
                            view! {
                                <tr class="version-row" data-version=n>
                                    <td>{n}</td>
                                    <td>{format::unix_millis(v.at_ms)}</td>
                                    <td>{v.by}</td>
                                    <td>{v.what}</td>
                                    <td>
                                        <button type="button" on:click=move |_| picked.set(Some(n))>
                                            "Diff"
                                        </button>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view();
                    view! {
                        <table class="containers versions">
                            <thead>
                                <tr>
                                    <th>"Version"</th>
                                    <th>"When"</th>
                                    <th>"By"</th>
                                    <th>"What"</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    }
                    .into_any()
                }
                Err(e) => view! { <p class="admin-error">{e.error}</p> }.into_any(),
            }
        })
    };
    view! {
        <section class="stack-versions">
            <h2>"Versions"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>{rows}</Transition>
            {move || picked.get().map(|n| view! { <VersionDiff n texts close=picked /> })}
        </section>
    }
}

/// One version against the editor's text, with its restore.
#[component]
fn VersionDiff(n: u64, texts: Texts, close: RwSignal<Option<u64>>) -> impl IntoView {
    let context = expect_context::<StackContext>();
    let version = Resource::new(
        || (),
        move |()| {
            api::read(
                context.on.get_value(),
                GetStackVersion {
                    name: context.name.get_value(),
                    n,
                },
            )
        },
    );
    let feedback = Feedback::new();
    let restore = Callback::new(move |()| {
        let call = api::call(
            context.on.get_value(),
            RestoreStackVersion {
                name: context.name.get_value(),
                n,
            },
            (),
            (),
        );
        feedback.run(
            call,
            move |stack| {
                texts.take(&stack);
                let now = stack.version;
                context.stack.try_set(stack);
                format!("version {n} restored as version {now}")
            },
            move || context.history.now(),
        );
    });
    let shown = move || {
        Suspend::new(async move {
            match version.await {
                Ok(v) => {
                    let compose = diff_view("compose.yaml", &v.files.compose, &texts.compose.get());
                    let env = diff_view(".env", &v.files.env, &texts.env.get());
                    view! { {compose} {env} }.into_any()
                }
                Err(e) => view! { <p class="admin-error">{e.error}</p> }.into_any(),
            }
        })
    };
    view! {
        <div class="card version-diff" data-testid="version-diff">
            <h3>{format!("Version {n} → the editor")}</h3>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>{shown}</Suspense>
            <ForOperators>
                <AskFirst
                    label="Restore this version"
                    question=format!(
                        "Make version {n} the current files? The saved ones stay as a version; changes in the editor not saved are replaced.",
                    )
                    yes="Restore"
                    on_yes=restore
                />
            </ForOperators>
            " "
            <button type="button" on:click=move |_| close.set(None)>
                "Close"
            </button>
            {feedback.view()}
        </div>
    }
}

fn diff_view(file: &str, old: &str, new: &str) -> impl IntoView + use<> {
    let lines = diff::lines(old, new);
    let (removed, added) = diff::counts(&lines);
    if removed == 0 && added == 0 {
        return view! { <p class="muted">{format!("{file}: the same")}</p> }.into_any();
    }
    let rows = lines
        .iter()
        .map(|line| {
            let (class, mark, text) = match line {
                Line::Same(t) => ("diff-same", " ", t),
                Line::Removed(t) => ("diff-removed", "-", t),
                Line::Added(t) => ("diff-added", "+", t),
            };
            view! { <div class=class>{format!("{mark} {text}")}</div> }
        })
        .collect_view();
    view! {
        <p class="muted">{format!("{file}: {removed} removed, {added} added")}</p>
        <pre class="diff mono">{rows}</pre>
    }
    .into_any()
}

/// An external project's compose file, read-only: asked from the browser by operators and
/// admins alone (it often holds environment values), so no server-rendered page holds it.
/// Asked once the page is live (an effect, which the server never runs), so the server's
/// markup and the first hydrated one agree: "Reading the file…".
#[component]
pub(super) fn ExternalFileView() -> impl IntoView {
    let context = expect_context::<StackContext>();
    let file = RwSignal::new(None::<Result<ExternalFile, String>>);
    Effect::new(move |_| {
        let call = api::call(
            context.on.get_value(),
            GetExternalStackFile {
                name: context.name.get_value(),
            },
            (),
            (),
        );
        leptos::task::spawn_local(async move {
            let answer = call.await.map_err(|e| e.error);
            file.try_set(Some(answer));
        });
    });
    let shown = move || match file.get() {
        None => view! { <p class="loading">"Reading the file…"</p> }.into_any(),
        Some(Ok(ExternalFile {
            path,
            text: Some(text),
            ..
        })) => view! {
            <h3 class="mono" data-testid="external-path">
                {path.unwrap_or_else(|| "compose file".into())}
            </h3>
            <CodeEditor
                text=RwSignal::new(text)
                label="compose file (read-only)"
                yaml=true
                read_only=Signal::stored(true)
                error_line=Signal::stored(None)
                on_save=Callback::new(|()| ())
            />
        }
        .into_any(),
        Some(Ok(ExternalFile { unreadable, .. })) => view! {
            <p class="muted" data-testid="external-unreadable">
                {format!(
                    "Its file is not shown: {}.",
                    unreadable.unwrap_or_else(|| "Berth cannot read it".into()),
                )}
            </p>
        }
        .into_any(),
        Some(Err(error)) => view! { <p class="admin-error">{error}</p> }.into_any(),
    };
    view! {
        <section class="stack-files" data-testid="external-file">
            <h2>"Compose file"</h2>
            {shown}
        </section>
    }
}
