// Prettier, as the JupyterLab extension template sets it, with the line width this code needs.
/** @type {import('prettier').Config} */
export default {
  singleQuote: true,
  trailingComma: 'none',
  arrowParens: 'avoid',
  // The template's CRLF-tolerant setting: a Windows checkout with autocrlf is not reported.
  endOfLine: 'auto',
  // The code was written to about 120 columns: at the default 80 the one formatting pass would
  // rewrap some 21,000 lines, at 120 about 8,000.
  printWidth: 120
};
