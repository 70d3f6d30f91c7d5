"""Timers, alarms, reminders and lists: the everyday jobs, kept on disk and run on time."""
