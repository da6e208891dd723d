// Runs client_demo/board.js over a parity case (format: tests/rooms/board/parity.py) and prints
// {"steps": [boards before the first event, then after each], "applied": [...]} as JSON.
//   node run_fixture.mjs fixtures/put_and_z.json   one case from a file
//   node run_fixture.mjs -                         one case per stdin line, one answer per line
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import {
  applyBoardEvent,
  applyRecords,
  applySnapshot,
  boardsToJSON,
  createBoards,
} from "../../../client_demo/board.js";

// Without a snapshot the client joined right after session.created: the welcome then names
// only the main board, empty (server/rooms/board/storage.py new_boards).
const FRESH = {
  boards: [
    {
      id: "main",
      title: "",
      access: { mode: "everyone", classes: [], participants: [], locked: false },
      records: 0,
      top_z: 0,
      tombstones: [],
    },
  ],
  records: [],
};

function run(testCase) {
  const snapshot = testCase.snapshot ?? FRESH;
  const boards = createBoards();
  applySnapshot(boards, { boards: snapshot.boards });
  for (const message of snapshot.records) applyRecords(boards, message);
  const steps = [boardsToJSON(boards)];
  const applied = [];
  for (const [seq, kind, data] of testCase.events) {
    applied.push(applyBoardEvent(boards, seq, kind, data));
    steps.push(boardsToJSON(boards));
  }
  return { steps, applied };
}

const source = process.argv[2];
if (source === undefined) {
  process.stderr.write("usage: node run_fixture.mjs FIXTURE.json | -\n");
  process.exit(2);
}
if (source !== "-") {
  process.stdout.write(`${JSON.stringify(run(JSON.parse(readFileSync(source, "utf8"))))}\n`);
} else {
  for await (const line of createInterface({ input: process.stdin })) {
    let answer;
    try {
      answer = run(JSON.parse(line));
    } catch (error) {
      answer = { error: String(error && error.stack ? error.stack : error) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
}
