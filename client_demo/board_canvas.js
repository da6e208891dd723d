// Draws a board replica (board.js) on a <canvas>: records bottom to top (z order), then what
// this page is drawing right now (not yet echoed by the server), then other people's cursors.
// Board coordinates are the canvas's own pixels (BOARD_WIDTH x BOARD_HEIGHT); CSS scales it.
// Text from people is drawn with fillText only.

import { orderedRecords } from "./board.js";

export const BOARD_WIDTH = 1200;
export const BOARD_HEIGHT = 750;
export const BACKGROUND = "#ffffff";
const NOTE_INK = "#1f1f1f";
const CURSOR_COLORS = ["#d81b60", "#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#00897b"];

export function drawBoard(canvas, board, { live = [], cursors = [], nameOf = (id) => id } = {}) {
  const ctx = canvas.getContext("2d");
  ctx.save();
  ctx.fillStyle = BACKGROUND;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (board) for (const record of orderedRecords(board)) drawRecord(ctx, record);
  for (const record of live) drawRecord(ctx, record);
  for (const cursor of cursors) drawCursor(ctx, cursor, nameOf(cursor.from));
  ctx.restore();
}

export function drawRecord(ctx, { kind, props }) {
  ctx.save();
  ctx.lineJoin = "round";
  ctx.lineCap = "round";
  ctx.strokeStyle = props.color;
  ctx.fillStyle = props.color;
  ctx.lineWidth = props.width || 1;
  const draw = DRAW[kind];
  if (draw) draw(ctx, props);
  ctx.restore();
}

function stroke(ctx, { points }) {
  if (!Array.isArray(points) || points.length < 2) return;
  if (points.length === 2) {
    // One point: a dot as wide as the pen.
    ctx.beginPath();
    ctx.arc(points[0], points[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(points[0], points[1]);
  for (let i = 2; i < points.length; i += 2) ctx.lineTo(points[i], points[i + 1]);
  ctx.stroke();
}

function box(ctx, props, path) {
  ctx.beginPath();
  path(ctx, props);
  if (props.fill) {
    ctx.fillStyle = props.fill;
    ctx.fill();
  }
  ctx.stroke();
}

const rectPath = (ctx, { x, y, w, h }) => ctx.rect(x, y, w, h);
const ellipsePath = (ctx, { x, y, w, h }) => ctx.ellipse(x + w / 2, y + h / 2, w / 2, h / 2, 0, 0, 2 * Math.PI);

function line(ctx, { x1, y1, x2, y2 }) {
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x2, y2);
  ctx.stroke();
}

function arrow(ctx, props) {
  line(ctx, props);
  const { x1, y1, x2, y2 } = props;
  const angle = Math.atan2(y2 - y1, x2 - x1);
  const head = Math.max(10, ctx.lineWidth * 4);
  ctx.beginPath();
  ctx.moveTo(x2, y2);
  ctx.lineTo(x2 - head * Math.cos(angle - Math.PI / 7), y2 - head * Math.sin(angle - Math.PI / 7));
  ctx.lineTo(x2 - head * Math.cos(angle + Math.PI / 7), y2 - head * Math.sin(angle + Math.PI / 7));
  ctx.closePath();
  ctx.fill();
}

function text(ctx, { x, y, text: value, size }) {
  ctx.font = `${size}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  String(value).split("\n").forEach((row, i) => ctx.fillText(row, x, y + i * size * 1.2));
}

function note(ctx, { x, y, w, h, text: value }) {
  ctx.fillRect(x, y, w, h);
  ctx.strokeStyle = "rgba(0, 0, 0, 0.25)";
  ctx.lineWidth = 1;
  ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
  ctx.beginPath();
  ctx.rect(x, y, w, h);
  ctx.clip(); // text that does not fit stays on the note
  ctx.fillStyle = NOTE_INK;
  const size = 18;
  ctx.font = `${size}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  wrap(ctx, String(value), w - 16).forEach((row, i) => ctx.fillText(row, x + 8, y + 8 + i * size * 1.25));
}

// Lines of `value` that fit `width`, broken at spaces (a long word is left to the clip).
function wrap(ctx, value, width) {
  const rows = [];
  for (const paragraph of value.split("\n")) {
    let row = "";
    for (const word of paragraph.split(" ")) {
      const next = row ? `${row} ${word}` : word;
      if (row && ctx.measureText(next).width > width) {
        rows.push(row);
        row = word;
      } else {
        row = next;
      }
    }
    rows.push(row);
  }
  return rows;
}

const DRAW = {
  stroke,
  rect: (ctx, props) => box(ctx, props, rectPath),
  ellipse: (ctx, props) => box(ctx, props, ellipsePath),
  line,
  arrow,
  text,
  note,
};

function colorOf(id) {
  let hash = 0;
  for (const char of String(id)) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return CURSOR_COLORS[hash % CURSOR_COLORS.length];
}

function drawCursor(ctx, { from, x, y }, name) {
  ctx.save();
  ctx.fillStyle = colorOf(from);
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x, y + 18);
  ctx.lineTo(x + 5, y + 13);
  ctx.lineTo(x + 12, y + 13);
  ctx.closePath();
  ctx.fill();
  ctx.font = "13px system-ui, sans-serif";
  ctx.textBaseline = "top";
  const label = String(name).slice(0, 40);
  const width = ctx.measureText(label).width + 8;
  ctx.fillRect(x + 12, y + 14, width, 18);
  ctx.fillStyle = "#ffffff";
  ctx.fillText(label, x + 16, y + 16);
  ctx.restore();
}

// Where a pointer event falls on the board, in board coordinates (integers).
export function boardPoint(canvas, event) {
  const rect = canvas.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width) * canvas.width;
  const y = ((event.clientY - rect.top) / rect.height) * canvas.height;
  return {
    x: Math.round(Math.min(canvas.width, Math.max(0, x))),
    y: Math.round(Math.min(canvas.height, Math.max(0, y))),
  };
}
