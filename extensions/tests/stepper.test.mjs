// DOM-free logic of extensions/stepper.js, on the step records that the Python tests write into
// extensions/tests/fixtures/stepper_*.json (tests/viz/test_stepper.py), together with what
// nbtorch/viz/_stepper_view.py makes of them: the live widget must say what the static picture
// says, and renaming a field on either side breaks a test. Run: node --test extensions/tests/
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import * as st from "../stepper.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const fixtureNames = readdirSync(FIXTURES).filter((f) => /^stepper_.*\.json$/.test(f)).sort();
const load = (name) => JSON.parse(readFileSync(join(FIXTURES, name), "utf8"));

test("fixtures exist (written by tests/viz/test_stepper.py)", () => {
  assert.deepEqual(fixtureNames, ["stepper_fanout.json", "stepper_mlp.json"]);
});

for (const name of fixtureNames) {
  test(`${name}: the synced traits are the ones Python syncs`, () => {
    assert.deepEqual(st.TRAITS, load(name).traits);
  });

  test(`${name}: records have the fields the front end reads`, () => {
    const { graph, steps } = load(name);
    assert.equal(graph.version, 1);
    const ids = new Set(graph.nodes.map((n) => n.id));
    for (const r of steps) {
      for (const key of ["index", "node", "op", "kind", "names", "rule", "arriving", "sent",
        "accumulated", "check"]) {
        assert.ok(key in r, `${key} missing`);
      }
      assert.ok(ids.has(r.node));
      assert.equal(graph.nodes[r.node].op, r.op);
      for (const key of ["op", "forward", "formula", "words"]) {
        assert.equal(typeof r.rule[key], "string");
      }
      for (const e of r.sent) assert.ok(ids.has(e.to));
    }
    assert.equal(graph.layout.nodes.length, graph.nodes.length);
    for (const box of graph.layout.nodes) {
      for (const key of ["id", "x", "y", "width", "height"]) {
        assert.equal(typeof box[key], "number");
      }
    }
    for (const e of graph.layout.edges) assert.ok(e.points.length >= 2);
  });

  test(`${name}: step text is the same as Python's`, () => {
    const { steps, expect } = load(name);
    steps.forEach((r, i) => assert.deepEqual(st.stepLines(r), expect.lines[i], `step ${i}`));
  });

  test(`${name}: current, done and waiting nodes are the same as Python's`, () => {
    const { graph, steps, expect } = load(name);
    for (let current = -1; current < steps.length; current++) {
      assert.deepEqual(st.nodeStates(graph, steps, current), expect.states[current + 1],
        `current ${current}`);
    }
  });

  test(`${name}: node labels, numbers and formulas are the same as Python's`, () => {
    const { graph, expect } = load(name);
    assert.deepEqual(graph.nodes.map((n) => st.labelLines(n)), expect.labels);
    for (const [v, text] of expect.numbers) assert.equal(st.fmtNum(v), text, `fmtNum(${v})`);
    for (const [f, segments] of expect.formulas) assert.deepEqual(st.formulaSegments(f), segments);
  });
}

test("the highlight moves one node per step and every stepped node ends done", () => {
  const { graph, steps } = load("stepper_mlp.json");
  let previous = null;
  for (let c = 0; c < steps.length; c++) {
    const states = st.nodeStates(graph, steps, c);
    const current = states.indexOf("current");
    assert.equal(current, steps[c].node);
    assert.notEqual(current, previous);
    previous = current;
  }
  const last = st.nodeStates(graph, steps, steps.length - 1);
  for (const r of steps.slice(0, -1)) assert.equal(last[r.node], "done");
});

test("fan-out: the parts of a summed gradient are listed", () => {
  const { steps } = load("stepper_fanout.json");
  const exp = steps.find((r) => r.op === "ExpBackward0");
  const lines = st.stepLines(exp);
  assert.ok(lines.some(([k, t]) => k === "fanout" && t.includes("sum of 3 parts")));
  assert.equal(lines.filter(([k]) => k === "part").length, 3);
});

test("accumulation shows .grad before and after", () => {
  const { steps } = load("stepper_fanout.json");
  const leaf = steps.find((r) => r.op === "AccumulateGrad");
  const grads = st.stepLines(leaf).filter(([k]) => k === "grad").map(([, t]) => t);
  assert.deepEqual(grads.map((t) => t.split(":")[0]), [".grad before", ".grad after"]);
  assert.ok(grads[0].endsWith("None"));
});

test("labels are data, never markup", () => {
  const r = {
    index: 0, node: 0, op: "<b>op</b>", names: ["<img src=x onerror=alert(1)>"],
    rule: { op: "<i>", forward: "", formula: "", words: "<script>" },
    arriving: [], sent: [], accumulated: null, check: null,
  };
  const lines = st.stepLines(r);
  assert.equal(lines[0][1], "Step 0: <b>op</b> <img src=x onerror=alert(1)> (node 0)");
  assert.equal(lines[1][1], "<script>"); // shown as text (textContent), not parsed
});

test("commands count up, so each click is a change", () => {
  const a = st.nextCommand({}, "step");
  const b = st.nextCommand(a, "jump", 3);
  assert.deepEqual(a, { seq: 1, action: "step", node: null });
  assert.deepEqual(b, { seq: 2, action: "jump", node: 3 });
  assert.deepEqual(st.nextCommand(null, "back"), { seq: 1, action: "back", node: null });
});

test("speed is clamped to at most 10 steps per second", () => {
  assert.equal(st.tickDelay(2), 500);
  assert.equal(st.tickDelay(1000), 100);
  assert.equal(st.tickDelay(0), 10000);
  assert.equal(st.clampSpeed("abc"), 1);
});

test("edge paths and progress", () => {
  assert.equal(st.edgePath([[1, 2], [3.25, 4]]), "M1.0,2.0 L3.3,4.0");
  const { graph, steps } = load("stepper_fanout.json");
  assert.equal(st.progressText(graph, steps, -1, false),
    `before step 0 · ${graph.nodes.length} nodes`);
  assert.equal(st.progressText(graph, steps, steps.length - 1, true),
    `step ${steps.length - 1} · ${steps.length} done · finished`);
});
