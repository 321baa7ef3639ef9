DROP INDEX tasks_top_level_position;
