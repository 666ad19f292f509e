// memlab_check.js HEAPSNAPSHOT OUT.json NODE_ID... — what memlab (npm
// @memlab/core, the parser and analyses of Meta's heap tool) makes of a
// .heapsnapshot that `remora export` wrote, for test_export.py: every
// node as [id, type, name, self_size, retained size, [ids of the nodes
// its edges lead to]], the retained sizes by memlab's own algorithm, and for each NODE_ID the path
// memlab's shortest-path search finds from the roots to it, as
// [[node id, name or index of its edge to the next node], ...], the
// first a root, the last the node itself (edge null).
'use strict';
const fs = require('fs');
const path = require('path');
const {utils, TraceFinder} = require(path.join(__dirname, 'node_modules', '@memlab', 'core'));

(async () => {
  const [file, out, ...wanted] = process.argv.slice(2);
  const heap = await utils.getSnapshotFromFile(file, {buildNodeIdIndex: true});
  const finder = new TraceFinder();
  finder.calculateAllNodesRetainedSizes(heap);
  finder.annotateShortestPaths(heap);
  const nodes = [];
  heap.nodes.forEach(n => {
    nodes.push([n.id, n.type, n.name, n.self_size, n.retainedSize,
                n.references.map(e => e.toNode.id)]);
  });
  const paths = {};
  for (const id of wanted) {
    const node = heap.getNodeById(Number(id));
    const steps = [];
    for (let p = node ? finder.getPathToGCRoots(heap, node) : null; p; p = p.next) {
      steps.push([p.node.id, p.edge ? p.edge.name_or_index : null]);
    }
    paths[id] = steps;
  }
  fs.writeFileSync(out, JSON.stringify({node_count: heap.nodes.length,
                                        edge_count: heap.edges.length, nodes, paths}));
})().catch(e => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
