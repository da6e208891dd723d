"""The shared whiteboard, sans-I/O: records and their validation, the board state, the pure
reducer over board events, the rules that turn board commands into events, undo/redo, and the
SVG picture of a board. Like the rest of server/rooms it reads no clock and does no I/O."""
