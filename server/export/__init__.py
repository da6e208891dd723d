"""What happened in a session, taken out of it: attendance, chat, boards, and more, in a zip."""
