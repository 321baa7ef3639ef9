// The caller's lists (inbox first), a form for a new one, sharing of the selected list (its
// members, and inviting someone by email, for its owners), and the invitations the caller
// received, to accept or decline.

import {
  acceptInvitation,
  createList,
  declineInvitation,
  invite,
  listLists,
  listMembers,
  myInvitations,
} from "../lists.js";
import { describe, fill, h } from "./dom.js";

export class ListsView {
  /** `onSelect(list)` shows a list's tasks; `say(text)` announces in the status line. */
  constructor(session, elements, { onSelect, say }) {
    this.session = session;
    this.el = elements;
    this.onSelect = onSelect;
    this.say = say;
    this.lists = [];
    this.selected = null;

    elements.newListForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#create();
    });
    elements.inviteForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#invite();
    });
    elements.invitationsRefresh.addEventListener("click", () => this.loadInvitations());
  }

  /** Reads the lists and invitations; resolves to the inbox (or the first list). */
  async load() {
    this.el.panel.hidden = false;
    this.lists = await listLists(this.session);
    this.render();
    await this.loadInvitations();
    return this.lists.find((l) => l.is_inbox) ?? this.lists[0] ?? null;
  }

  clear() {
    this.lists = [];
    this.selected = null;
    fill(this.el.lists);
    fill(this.el.invitations);
    fill(this.el.members);
    this.el.sharing.hidden = true;
  }

  async select(list) {
    this.selected = list;
    this.render();
    await Promise.all([this.onSelect(list), this.#showSharing()]);
  }

  /** A list created, renamed or joined elsewhere (a live change). */
  upsert(list) {
    const index = this.lists.findIndex((l) => l.id === list.id);
    if (index >= 0) this.lists[index] = list;
    else this.lists.push(list);
    if (this.selected?.id === list.id) this.selected = list;
    this.render();
  }

  /** A list deleted, or one the caller lost (a live change): its tasks go with it. */
  remove(id) {
    this.lists = this.lists.filter((l) => l.id !== id);
    this.render();
    if (this.selected?.id === id) {
      const inbox = this.lists.find((l) => l.is_inbox);
      this.say("That list is no longer available to you.");
      if (inbox) this.select(inbox);
    }
  }

  async loadInvitations() {
    try {
      const invitations = await myInvitations(this.session);
      fill(
        this.el.invitations,
        invitations.map((inv) =>
          h(
            "li",
            {},
            h("span", {}, `${inv.list_name} (${inv.role})`),
            h("button", { type: "button", onclick: () => this.#accept(inv) }, `Accept ${inv.list_name}`),
            h(
              "button",
              { type: "button", class: "secondary", onclick: () => this.#decline(inv) },
              `Decline ${inv.list_name}`,
            ),
          ),
        ),
      );
      if (invitations.length === 0) fill(this.el.invitations, h("li", { class: "meta" }, "None."));
    } catch (error) {
      fill(this.el.invitations, h("li", { class: "error" }, describe(error)));
    }
  }

  async #accept(invitation) {
    try {
      const list = await acceptInvitation(this.session, invitation.id);
      this.upsert(list);
      await this.loadInvitations();
      this.say(`You joined “${list.name}”.`);
      await this.select(list);
    } catch (error) {
      this.say(describe(error));
    }
  }

  async #decline(invitation) {
    try {
      await declineInvitation(this.session, invitation.id);
      await this.loadInvitations();
      this.say(`Declined “${invitation.list_name}”.`);
    } catch (error) {
      this.say(describe(error));
    }
  }

  async #create() {
    const input = this.el.newListName;
    const name = input.value.trim();
    if (!name) return;
    try {
      const list = await createList(this.session, name);
      input.value = "";
      this.upsert(list);
      this.say(`Created the list “${list.name}”.`);
      await this.select(list);
    } catch (error) {
      this.say(describe(error));
    }
  }

  async #showSharing() {
    const list = this.selected;
    const owner = list && !list.is_inbox && list.role === "owner";
    this.el.sharing.hidden = !list || list.is_inbox;
    this.el.inviteForm.hidden = !owner;
    if (!list || list.is_inbox) return;
    try {
      const members = await listMembers(this.session, list.id);
      fill(
        this.el.members,
        members.map((m) => h("li", {}, h("span", {}, m.email), h("span", { class: "meta" }, m.role))),
      );
    } catch (error) {
      fill(this.el.members, h("li", { class: "error" }, describe(error)));
    }
  }

  async #invite() {
    const list = this.selected;
    const email = this.el.inviteEmail.value.trim();
    if (!list || !email) return;
    try {
      await invite(this.session, list.id, email, this.el.inviteRole.value);
      this.el.inviteEmail.value = "";
      this.say(`Invited ${email} to “${list.name}”.`);
    } catch (error) {
      this.say(describe(error));
    }
  }

  render() {
    fill(
      this.el.lists,
      this.lists.map((list) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "secondary",
              "aria-current": this.selected?.id === list.id ? "true" : null,
              onclick: () => this.select(list),
            },
            list.name,
          ),
          list.member_count > 1 && h("span", { class: "meta" }, `shared · ${list.role}`),
        ),
      ),
    );
  }
}
