// The client's start: find the API, show the login form, and once logged in the lists (when
// the API has them), the tasks of the selected one, and live changes (when the API has
// them).

import { apiBase } from "./config.js";
import { followChanges } from "./events.js";
import { createHttp } from "./http.js";
import { hasLists } from "./lists.js";
import { Session } from "./session.js";
import { describe } from "./ui/dom.js";
import { ListsView } from "./ui/lists-view.js";
import { TasksView } from "./ui/tasks-view.js";

const byId = (id) => document.getElementById(id);

const status = byId("status");
const say = (text) => {
  status.textContent = text;
};

/** Everything shown while logged in. */
class Workspace {
  constructor(session, base) {
    this.session = session;
    this.base = base;
    this.stopLive = null;
    this.tasks = new TasksView(
      session,
      {
        title: byId("list-title"),
        newTaskForm: byId("new-task-form"),
        newTaskTitle: byId("new-task-title"),
        error: byId("tasks-error"),
        tasks: byId("tasks"),
        empty: byId("tasks-empty"),
        more: byId("more"),
      },
      { say },
    );
    this.lists = new ListsView(
      session,
      {
        panel: byId("lists-panel"),
        lists: byId("lists"),
        newListForm: byId("new-list-form"),
        newListName: byId("new-list-name"),
        invitations: byId("invitation-items"),
        invitationsRefresh: byId("invitations-refresh"),
        sharing: byId("sharing"),
        members: byId("members"),
        inviteForm: byId("invite-form"),
        inviteEmail: byId("invite-email"),
        inviteRole: byId("invite-role"),
      },
      { onSelect: (list) => this.tasks.show(list), say },
    );
  }

  async open() {
    byId("who").textContent = this.session.email;
    byId("who").hidden = false;
    byId("logout").hidden = false;
    byId("app-view").hidden = false;
    try {
      if (await hasLists(this.session)) {
        const inbox = await this.lists.load();
        if (inbox) await this.lists.select(inbox);
      } else {
        await this.tasks.show({ id: null, name: "Tasks", role: "owner" });
      }
    } catch (error) {
      byId("tasks-error").textContent = describe(error);
    }
    this.#followLive();
  }

  close() {
    this.stopLive?.();
    this.stopLive = null;
    this.tasks.clear();
    this.lists.clear();
    for (const id of ["who", "logout", "app-view", "lists-panel", "live"]) byId(id).hidden = true;
  }

  #followLive() {
    const live = byId("live");
    this.stopLive = followChanges(this.session, this.base, {
      cursor: this.tasks.changesCursor,
      onState: (state) => {
        live.hidden = state === "unavailable";
        live.textContent = state === "live" ? "Live" : "Reconnecting…";
      },
      onChange: (change) => this.#apply(change),
      onReset: () => {
        say("Catching up: reading everything again.");
        const list = this.lists.selected ?? this.tasks.list;
        if (this.lists.selected) this.lists.load().then(() => this.lists.select(list));
        else if (list) this.tasks.show(list);
      },
    });
  }

  #apply(change) {
    if (change.entity === "task") {
      if (change.op === "delete" || !change.data) this.tasks.remove(change.id);
      else this.tasks.upsert(change.data);
    } else if (change.entity === "list") {
      if (change.op === "delete" || !change.data) this.lists.remove(change.id);
      else this.lists.upsert(change.data);
    }
  }
}

function showLogin(message = "") {
  byId("login-view").hidden = false;
  byId("login-error").textContent = message;
  byId("login-email").focus();
}

async function start() {
  let base;
  try {
    base = await apiBase();
  } catch (error) {
    byId("fatal").textContent = error.message;
    byId("fatal").hidden = false;
    return;
  }
  const session = new Session(createHttp(base), {
    onEnd: (why) => {
      workspace.close();
      showLogin(why);
    },
  });
  const workspace = new Workspace(session, base);

  byId("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const email = form.elements.email.value.trim();
    const password = form.elements.password.value;
    const registering = event.submitter?.value === "register";
    byId("login-error").textContent = "";
    try {
      if (registering) await session.register(email, password);
      else await session.login(email, password);
    } catch (error) {
      byId("login-error").textContent = describe(error);
      return;
    }
    form.reset();
    byId("login-view").hidden = true;
    say(registering ? "Account created: you are logged in." : "You are logged in.");
    await workspace.open();
  });

  byId("logout").addEventListener("click", async () => {
    workspace.close();
    await session.logout();
    showLogin();
    say("You are logged out.");
  });

  showLogin();
}

start();
