/**
 * Checks that a package's ESM and CJS builds expose the same public names: a dual build
 * whose two halves drift apart breaks whichever half a user's bundler picks.
 */
export function expectMatchingEntryPoints(esm: Record<string, unknown>, cjs: Record<string, unknown>): string[] {
  const names = (m: Record<string, unknown>) =>
    Object.keys(m)
      .filter((k) => k !== 'default' && k !== '__esModule' && k !== 'module.exports')
      .sort();
  const a = names(esm);
  const b = names(cjs);
  const onlyEsm = a.filter((k) => !b.includes(k));
  const onlyCjs = b.filter((k) => !a.includes(k));
  if (onlyEsm.length || onlyCjs.length) {
    throw new Error(
      `ESM and CJS entry points differ: only in ESM [${onlyEsm.join(', ')}], only in CJS [${onlyCjs.join(', ')}]`,
    );
  }
  return a;
}
