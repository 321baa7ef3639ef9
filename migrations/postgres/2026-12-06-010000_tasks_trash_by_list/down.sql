DROP INDEX tasks_trash_by_list;
