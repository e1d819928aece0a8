import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { graphToDot, graphToHtml, graphToSvg, type GraphPartition } from '../../viz/graph-view.ts';

const graph = importOnnx(join(import.meta.dirname, '..', '..', 'models', 'cnn.onnx')).graph;
const partition: GraphPartition = {
  kernels: [{ name: 'k0', nodes: ['conv1', 'conv1.add_bias', 'conv1.relu'], rule: 'conv-epilogue' }],
  hostNodes: [{ node: 'pool1', reason: 'max_pool runs on the host' }],
};

/** Every opened tag is closed in order (a cheap well-formedness check for our own output). */
function balanced(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (m[1]) {
      if (stack.pop() !== m[2]) return false;
    } else stack.push(m[2]!);
  }
  return stack.length === 0;
}

describe('graph view', () => {
  it('SVG: one box per input, node and output, kernel panels and dashed host nodes', () => {
    const svg = graphToSvg(graph, partition);
    expect(balanced(svg)).toBe(true);
    expect(svg.match(/<g class="node[ "]/g)).toHaveLength(graph.nodes.length);
    expect(svg.match(/<g class="input"/g)).toHaveLength(1);
    expect(svg.match(/<g class="output"/g)).toHaveLength(1);
    expect(svg.match(/<g class="kernel"/g)).toHaveLength(1);
    expect(svg).toContain('data-kernel="k0"');
    expect(svg.match(/<g class="node host"/g)).toHaveLength(1);
    expect(svg).toContain('runs on the host: max_pool runs on the host');
    // One edge per data input of every node, plus the output edge.
    const dataEdges = graph.nodes.reduce((a, n) => a + n.inputs.filter((t) => !(t in graph.tensors)).length, 0) + graph.outputs.length;
    expect(svg.match(/<g class="edge( skip)?"/g)).toHaveLength(dataEdges);
    // The residual add reads pool2 three rows up: that edge goes round the boxes, not behind them.
    expect(svg.match(/<g class="edge skip"/g)).toHaveLength(1);
  });

  it('HTML is self-contained (no scripts, no network)', () => {
    const html = graphToHtml(graph, partition);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain('1 VTA kernel(s)');
    expect(html.match(/<tr>/g)).toHaveLength(graph.nodes.length + 1);
    expect(graphToHtml(graph, undefined, 'compiler unavailable')).toContain('No partition shown: compiler unavailable');
  });

  it('DOT: a cluster per kernel, every node and edge declared once', () => {
    const dot = graphToDot(graph, partition);
    expect(dot.startsWith('digraph "cnn" {')).toBe(true);
    expect(dot.match(/subgraph "cluster_/g)).toHaveLength(1);
    const declared = dot.split('\n').filter((l) => /^\s*"node:[^"]+" \[label=/.test(l)).map((l) => l.trim().split('"')[1]);
    expect(declared.sort()).toEqual(graph.nodes.map((n) => `node:${n.name}`).sort());
    const dataEdges = graph.nodes.reduce((a, n) => a + n.inputs.filter((t) => !(t in graph.tensors)).length, 0) + graph.outputs.length;
    expect(dot.match(/ -> /g)).toHaveLength(dataEdges);
    expect(dot).toContain('"node:pool1" [label="pool1: max_pool\\n→ int8[1×16×16×16]", shape=box, style="dashed,filled"');
    expect(dot.trimEnd().endsWith('}')).toBe(true);
  });
});
