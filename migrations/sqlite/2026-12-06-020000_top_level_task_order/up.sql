-- Top-level tasks in their order (sort=position with parent_id=none, and where a new
-- top-level task goes: after the greatest position). The index over
-- (list_id, parent_id, position, id) serves the subtasks of a parent, where parent_id is an
-- equality; for `parent_id IS NULL` PostgreSQL's planner does not take the index's order as
-- the order of position, and would sort every top-level task of the list instead.
CREATE INDEX tasks_top_level_position ON tasks (list_id, position, id) WHERE parent_id IS NULL;
