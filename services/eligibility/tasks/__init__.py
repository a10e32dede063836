"""Worklists (待办): the procedure's steps an official may take now, in their region, oldest deadline first."""
