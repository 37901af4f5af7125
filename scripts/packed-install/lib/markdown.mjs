// Reads the parts of a README that the packed-install test acts on: fenced code blocks (to run
// the JavaScript and TypeScript ones) and the install commands of the shell blocks (which decide
// what the snippet app installs, as they decide what a reader installs).

/** Info-string languages whose blocks are run. */
export const RUNNABLE_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript']);
const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);

/**
 * Every fenced code block of a CommonMark document: `{ line, info, lang, words, code }`, where
 * `line` is the 1-based line of the opening fence, `lang` the first word of the info string and
 * `words` the rest (e.g. `no-run`). Fences may be indented (inside list items); the content is
 * de-indented by the fence's indentation, as CommonMark does. An unclosed block runs to the end.
 */
export function fencedBlocks(markdown) {
  const lines = markdown.split(/\r?\n/);
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, rawInfo] = open;
    // A backtick fence's info string may not contain a backtick (that is inline code).
    if (fence[0] === '`' && rawInfo.includes('`')) continue;
    const words = rawInfo.trim().split(/\s+/).filter(Boolean);
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[j]);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break;
      body.push(stripIndent(lines[j], indent.length));
    }
    blocks.push({
      line: i + 1,
      info: rawInfo.trim(),
      lang: (words[0] ?? '').toLowerCase(),
      words: words.slice(1),
      code: body.join('\n'),
    });
    i = j;
  }
  return blocks;
}

function stripIndent(line, n) {
  let k = 0;
  while (k < n && line[k] === ' ') k++;
  return line.slice(k);
}

/** The blocks to run and the ones marked `no-run`, each with its README line. */
export function runnableBlocks(markdown) {
  const run = [];
  const skipped = [];
  for (const b of fencedBlocks(markdown)) {
    if (!RUNNABLE_LANGUAGES.has(b.lang)) continue;
    (b.words.includes('no-run') ? skipped : run).push(b);
  }
  return { run, skipped };
}

/**
 * The packages named by `npm install` / `npm i` / `pnpm add` / `yarn add` commands in shell
 * blocks, as `{ line, command, packages: [{ name, spec }] }`. Flags are ignored; a command ends
 * at `&&`, `;`, `|` or `#`. `spec` is what follows the name (`latest` when nothing does).
 */
export function installCommands(markdown) {
  const found = [];
  for (const b of fencedBlocks(markdown)) {
    if (!SHELL_LANGUAGES.has(b.lang)) continue;
    b.code.split('\n').forEach((text, k) => {
      const command = text.replace(/^\s*\$\s*/, '').split(/&&|;|\||\s#/)[0].trim();
      const m = /^(?:npm\s+(?:install|i|add)|pnpm\s+(?:add|install|i)|yarn\s+add)\s+(.+)$/.exec(command);
      if (!m) return;
      const packages = m[1]
        .split(/\s+/)
        .filter((w) => w && !w.startsWith('-'))
        .map(parsePackageArg);
      if (packages.length > 0) found.push({ line: b.line + 1 + k, command, packages });
    });
  }
  return found;
}

/** `@scope/name@^1.2` → `{ name: '@scope/name', spec: '^1.2' }`. */
export function parsePackageArg(arg) {
  const at = arg.indexOf('@', arg.startsWith('@') ? 1 : 0);
  if (at < 0) return { name: arg, spec: 'latest' };
  return { name: arg.slice(0, at), spec: arg.slice(at + 1) || 'latest' };
}

/**
 * The package names a JavaScript or TypeScript snippet imports or requires (bare specifiers
 * only; `node:` and relative imports are left out). Comments are removed first so that an
 * import in a comment does not count.
 */
export function importedPackages(code) {
  const source = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specifiers = new Set();
  const patterns = [
    /\bimport\s+(?:type\s+)?(?:[\w*{}\s,$]+\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bexport\s+(?:type\s+)?[\w*{}\s,$]+\s+from\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) specifiers.add(m[1]);
  const names = new Set();
  for (const s of specifiers) {
    if (s.startsWith('.') || s.startsWith('/') || s.startsWith('node:')) continue;
    const parts = s.split('/');
    names.add(s.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
  }
  return [...names];
}
