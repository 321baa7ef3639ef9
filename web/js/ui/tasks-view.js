// The tasks of one list: add, complete, edit, delete. Every write names the version it was
// based on (If-Match); when someone else changed the task meanwhile the API answers 412, and
// the editor says so and offers to load the latest version instead of overwriting it.

import { ApiError } from "../http.js";
import { createTask, deleteTask, getTask, listTasks, updateTask } from "../tasks.js";
import { describe, fill, h } from "./dom.js";

const PRIORITIES = ["low", "medium", "high"];

/** `due_at` (RFC 3339) as the value of a `datetime-local` input, in local time. */
function toLocalInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** A `datetime-local` value as RFC 3339 (UTC), or null when empty. */
function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : null;
}

export class TasksView {
  /** `elements`: the panel's nodes by id; `say(text)` announces in the status line. */
  constructor(session, elements, { say }) {
    this.session = session;
    this.el = elements;
    this.say = say;
    this.list = null;
    this.tasks = new Map(); // id → task, in the order shown
    this.editors = new Map(); // id → {task it edits, form}
    this.next = null;
    this.changesCursor = null;

    elements.newTaskForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#add();
    });
    elements.more.addEventListener("click", () => this.#loadMore());
  }

  /**
   * Shows `list` (`{id, name, role}`; `id` null for an API without lists, whose tasks are
   * all the caller's own). Resolves once the first page is shown.
   */
  async show(list) {
    this.list = list;
    this.tasks.clear();
    this.editors.clear();
    this.next = null;
    this.el.title.textContent = list.name;
    this.el.newTaskForm.hidden = !this.#canEdit();
    this.el.error.textContent = "";
    try {
      const page = await listTasks(this.session, { listId: list.id });
      this.changesCursor = page.changesCursor;
      this.#append(page);
    } catch (error) {
      this.el.error.textContent = describe(error);
    }
    this.render();
  }

  clear() {
    this.list = null;
    this.tasks.clear();
    this.editors.clear();
    fill(this.el.tasks);
  }

  /** A task created or changed elsewhere (a live change). */
  upsert(task) {
    if (!this.list || (this.list.id && task.list_id !== this.list.id)) {
      this.remove(task.id);
      return;
    }
    this.tasks.set(task.id, task);
    // An open editor keeps the version it started from: saving it then meets the 412.
    this.render();
  }

  /** A task gone elsewhere (a live change). */
  remove(id) {
    if (this.tasks.delete(id) || this.editors.delete(id)) this.render();
  }

  #canEdit() {
    return this.list?.role !== "viewer";
  }

  #append({ tasks, next }) {
    for (const task of tasks) this.tasks.set(task.id, task);
    this.next = next;
  }

  async #loadMore() {
    if (!this.next) return;
    try {
      this.#append(await listTasks(this.session, { page: this.next }));
      this.render();
    } catch (error) {
      this.el.error.textContent = describe(error);
    }
  }

  async #add() {
    const input = this.el.newTaskTitle;
    const title = input.value.trim();
    if (!title) return;
    const fields = { title };
    if (this.list.id) fields.list_id = this.list.id;
    try {
      const task = await createTask(this.session, fields);
      this.tasks.set(task.id, task);
      input.value = "";
      this.el.error.textContent = "";
      this.render();
      this.say(`Added “${task.title}”.`);
    } catch (error) {
      this.el.error.textContent = describe(error);
    }
  }

  /** After a write was refused as stale: show the task as it is now. */
  async #reload(id, message) {
    try {
      this.tasks.set(id, await getTask(this.session, id));
      this.say(message);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.tasks.delete(id);
        this.say("That task no longer exists.");
      } else {
        this.el.error.textContent = describe(error);
      }
    }
    this.render();
  }

  async #toggle(task, done) {
    try {
      this.tasks.set(task.id, await updateTask(this.session, task, { is_done: done }));
      this.say(done ? `Completed “${task.title}”.` : `Reopened “${task.title}”.`);
      this.render();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 412 || error.status === 404)) {
        await this.#reload(task.id, "That task had changed elsewhere: it now shows its latest version.");
      } else {
        this.el.error.textContent = describe(error);
        this.render();
      }
    }
  }

  async #delete(task) {
    try {
      await deleteTask(this.session, task);
      this.tasks.delete(task.id);
      this.editors.delete(task.id);
      this.say(`Deleted “${task.title}”.`);
      this.render();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 412 || error.status === 404)) {
        await this.#reload(task.id, "That task had changed elsewhere and was not deleted: check it and try again.");
      } else {
        this.el.error.textContent = describe(error);
      }
    }
  }

  #edit(task) {
    this.editors.set(task.id, { task, form: this.#editor(task) });
    this.render();
    this.editors.get(task.id)?.form.elements.title.focus();
  }

  /** The editor of `task`: a form that remembers the version it was opened at. */
  #editor(task) {
    const conflict = h(
      "div",
      { class: "conflict", role: "alert", hidden: true },
      h("p", {}, "Someone else changed this task after you opened it, so your changes were not saved."),
      h("button", { type: "button", onclick: () => this.#loadLatest(task.id) }, "Load the latest version"),
    );
    const error = h("p", { class: "error", role: "alert" });
    const form = h(
      "form",
      { class: "editor", "aria-label": `Edit task ${task.title}` },
      h("label", {}, "Title", h("input", { name: "title", maxlength: 200, required: true })),
      h("label", {}, "Description", h("textarea", { name: "description", maxlength: 10000, rows: 3 })),
      h(
        "label",
        {},
        "Priority",
        h("select", { name: "priority" }, PRIORITIES.map((p) => h("option", { value: p }, p))),
      ),
      h("label", {}, "Due", h("input", { name: "due_at", type: "datetime-local" })),
      conflict,
      error,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "submit" }, "Save"),
        h("button", { type: "button", class: "secondary", onclick: () => this.#closeEditor(task.id) }, "Cancel"),
      ),
    );
    form.conflict = conflict;
    form.errorLine = error;
    this.#fillEditor(form, task);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#save(task.id);
    });
    return form;
  }

  #fillEditor(form, task) {
    form.elements.title.value = task.title;
    form.elements.description.value = task.description;
    form.elements.priority.value = task.priority;
    form.elements.due_at.value = toLocalInput(task.due_at);
  }

  #closeEditor(id) {
    this.editors.delete(id);
    this.render();
    document.getElementById(`edit-${id}`)?.focus();
  }

  async #save(id) {
    const editor = this.editors.get(id);
    if (!editor) return;
    const { task, form } = editor;
    const fields = {};
    const title = form.elements.title.value.trim();
    if (title !== task.title) fields.title = title;
    if (form.elements.description.value !== task.description) {
      fields.description = form.elements.description.value;
    }
    if (form.elements.priority.value !== task.priority) fields.priority = form.elements.priority.value;
    if (form.elements.due_at.value !== toLocalInput(task.due_at)) {
      fields.due_at = fromLocalInput(form.elements.due_at.value);
    }
    if (Object.keys(fields).length === 0) {
      this.#closeEditor(id);
      return;
    }
    form.errorLine.textContent = "";
    try {
      const saved = await updateTask(this.session, task, fields);
      this.tasks.set(id, saved);
      this.#closeEditor(id);
      this.say(`Saved “${saved.title}”.`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        form.conflict.hidden = false;
        form.conflict.querySelector("button").focus();
      } else if (error instanceof ApiError && error.status === 404) {
        this.editors.delete(id);
        this.tasks.delete(id);
        this.render();
        this.say("That task no longer exists.");
      } else {
        form.errorLine.textContent = describe(error);
      }
    }
  }

  /** Puts the task's current version into its editor, discarding the stale one. */
  async #loadLatest(id) {
    const editor = this.editors.get(id);
    if (!editor) return;
    try {
      const latest = await getTask(this.session, id);
      this.tasks.set(id, latest);
      editor.task = latest;
      this.#fillEditor(editor.form, latest);
      editor.form.conflict.hidden = true;
      this.render();
      editor.form.elements.title.focus();
      this.say("Loaded the latest version: make your change again.");
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.editors.delete(id);
        this.tasks.delete(id);
        this.render();
        this.say("That task no longer exists.");
      } else {
        editor.form.errorLine.textContent = describe(error);
      }
    }
  }

  #row(task) {
    const editable = this.#canEdit();
    const due = task.due_at ? ` · due ${new Date(task.due_at).toLocaleString()}` : "";
    return h(
      "li",
      { class: task.is_done ? "done" : null, "data-id": task.id },
      h("input", {
        type: "checkbox",
        id: `done-${task.id}`,
        checked: task.is_done,
        disabled: !editable,
        onchange: (event) => this.#toggle(task, event.target.checked),
      }),
      h("label", { class: "title", for: `done-${task.id}` }, task.title),
      h("span", { class: "meta" }, `${task.priority}${due}`),
      editable &&
        h("button", {
          type: "button",
          id: `edit-${task.id}`,
          class: "secondary",
          "aria-label": `Edit ${task.title}`,
          onclick: () => this.#edit(task),
        }, "Edit"),
      editable &&
        h("button", {
          type: "button",
          class: "danger",
          "aria-label": `Delete ${task.title}`,
          onclick: () => this.#delete(task),
        }, "Delete"),
    );
  }

  /** Draws the list again; open editors are kept as they are (with what was typed). */
  render() {
    const focused = document.activeElement?.id;
    const items = [...this.tasks.values()].map((task) => {
      const editor = this.editors.get(task.id);
      return editor ? h("li", { "data-id": task.id }, editor.form) : this.#row(task);
    });
    fill(this.el.tasks, items);
    this.el.empty.hidden = items.length > 0;
    this.el.more.hidden = !this.next;
    if (focused) document.getElementById(focused)?.focus();
  }
}
