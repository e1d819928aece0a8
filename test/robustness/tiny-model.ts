/** The smallest model the robustness tests compile and run: dense x·wᵀ, cast to int8 (one VTA kernel). */
export const TINY_MODEL = {
  format: 'vta-graph/1',
  name: 'tiny',
  inputs: [{ name: 'x', shape: [1, 4], dtype: 'int8' }],
  outputs: ['y'],
  tensors: { w: { shape: [3, 4], dtype: 'int8', data: [1, 2, 3, 4, -1, -2, -3, -4, 10, 0, -10, 127] } },
  nodes: [
    { name: 'fc', op: 'dense', inputs: ['x', 'w'], output: 'acc' },
    { name: 'narrow', op: 'cast', inputs: ['acc'], output: 'y', attrs: { dtype: 'int8' } },
  ],
};
