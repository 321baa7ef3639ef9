-- Lists, their members and invitations; tasks move into lists and gain what subtasks,
-- manual order and assignment need (all of it here, so that the tasks table changes once).
-- Mirrors migrations/sqlite/ of the same name in native types.
--
-- Every account gets its inbox, holding its existing tasks: the inbox's id is the
-- account's id (so an account has one inbox by construction, and clients that know
-- nothing of lists find theirs without a lookup). Stop instances of the previous version
-- before migrating: they write tasks.owner_id, renamed here.

CREATE TABLE lists (
    id         uuid        NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    -- ListName::sort_key: what names sort by (code point order, as SQLite's BINARY).
    name_key   text        COLLATE "C" NOT NULL,
    -- The account whose inbox this is; NULL for every other list. Goes with the account.
    inbox_of   uuid        NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    archived   boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version    bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    CHECK (inbox_of IS NULL OR (inbox_of = id AND NOT archived))
);

-- Who belongs to which list, with which role. The primary key serves a list's members
-- and the membership checks of task reads and writes; the second index the lists of a
-- member (and the cascade from users).
CREATE TABLE list_members (
    list_id  uuid        NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    user_id  uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     text        NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    added_at timestamptz NOT NULL,
    PRIMARY KEY (list_id, user_id)
);
CREATE INDEX list_members_user_id_list_id ON list_members (user_id, list_id);

-- Pending invitations, by the invitee's normalised email (an account need not exist).
CREATE TABLE list_invitations (
    id         uuid        NOT NULL PRIMARY KEY,
    list_id    uuid        NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    email      text        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    invited_by uuid        NULL REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    UNIQUE (list_id, email)
);
CREATE INDEX list_invitations_email ON list_invitations (email);
CREATE INDEX list_invitations_expires_at ON list_invitations (expires_at);
CREATE INDEX list_invitations_invited_by ON list_invitations (invited_by);

-- Every existing account's inbox, the account its owner.
INSERT INTO lists (id, name, name_key, inbox_of, archived, created_at, updated_at, version)
SELECT id, 'Inbox', 'inbox', id, false, created_at, created_at, 1 FROM users;
INSERT INTO list_members (list_id, user_id, role, added_at)
SELECT id, id, 'owner', created_at FROM users;

-- A task's owner becomes its creator, kept (without a foreign key) after that account is
-- deleted; the task now goes with its list.
ALTER TABLE tasks RENAME COLUMN owner_id TO created_by;
ALTER TABLE tasks DROP CONSTRAINT tasks_owner_id_fkey;
ALTER TABLE tasks ADD COLUMN list_id uuid NULL REFERENCES lists (id) ON DELETE CASCADE;
UPDATE tasks SET list_id = created_by;
ALTER TABLE tasks ALTER COLUMN list_id SET NOT NULL;
-- Subtasks go with their parent.
ALTER TABLE tasks ADD COLUMN parent_id uuid NULL REFERENCES tasks (id) ON DELETE CASCADE;
-- Orders siblings, compared byte by byte. Existing tasks get `z`, their id's hex digits and
-- `1` (what new tasks get too; see the domain's position_from_id): ids grow with time, so
-- they keep their creation order, in the shape of a fractional-index key.
ALTER TABLE tasks ADD COLUMN position text COLLATE "C" NULL;
UPDATE tasks SET position = 'z' || replace(id::text, '-', '') || '1';
ALTER TABLE tasks ALTER COLUMN position SET NOT NULL;
ALTER TABLE tasks ADD COLUMN assignee_id uuid NULL REFERENCES users (id) ON DELETE SET NULL;

-- One index per sort order, each now led by the list, ending with the id tie-breaker.
DROP INDEX tasks_owner_created_at_id;
DROP INDEX tasks_owner_updated_at_id;
DROP INDEX tasks_owner_due_at_id;
DROP INDEX tasks_owner_priority_id;
DROP INDEX tasks_owner_title_key_id;
CREATE INDEX tasks_list_created_at_id ON tasks (list_id, created_at, id);
CREATE INDEX tasks_list_updated_at_id ON tasks (list_id, updated_at, id);
CREATE INDEX tasks_list_due_at_id ON tasks (list_id, due_at, id);
CREATE INDEX tasks_list_priority_id ON tasks (list_id, priority, id);
CREATE INDEX tasks_list_title_key_id ON tasks (list_id, title_key, id);
-- Siblings in their order (sort=position, a new task's place, moves).
CREATE INDEX tasks_list_parent_position_id ON tasks (list_id, parent_id, position, id);
-- The creator's quota count; a parent's subtasks (and the cascade); an assignee's tasks.
CREATE INDEX tasks_created_by ON tasks (created_by);
CREATE INDEX tasks_parent_id ON tasks (parent_id);
CREATE INDEX tasks_assignee_id ON tasks (assignee_id);
