"""Notifications (通知): what happened that someone must know, kept as data, delivered after
commit by e-mail and WeCom/DingTalk group robots, shown in the in-app notification centre;
and the reminders and escalations of approval steps left waiting (``docs/notifications.md``).
"""
