// The layout's rules, checked on the real import graph: production code never
// reaches into the emulators, harnesses or scripts, and no two modules import
// each other, directly or around a circle.
import { importCycles, importGraph } from '../support/import-graph';

const PRODUCTION = /^(src|functions)\//;
const DEV_ONLY = /^(dev|test|scripts|bench)\//;

test('the cycle finder finds a circle, and only a circle', () => {
  expect(importCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual([['a', 'b', 'c', 'a']]);
  expect(importCycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toEqual([]);
});

test('no module of the project is part of an import circle', () => {
  const graph = importGraph(['src', 'functions', 'dev', 'scripts', 'bench', 'test']);
  expect(graph.size).toBeGreaterThan(100);
  expect(importCycles(graph).map((cycle) => cycle.join(' → '))).toEqual([]);
});

test('nothing under src/ or functions/ imports from dev/, test/, scripts/ or bench/', () => {
  const graph = importGraph(['src', 'functions']);
  const reaches = [...graph].flatMap(([file, targets]) => targets.filter((target) => DEV_ONLY.test(target)).map((target) => `${file} → ${target}`));
  expect([...graph.keys()].every((file) => PRODUCTION.test(file))).toBe(true);
  expect(reaches).toEqual([]);
});
