// stylelint for style/, as the JupyterLab extension template sets it: the standard rules, CSS
// checked against the specs by csstree, and prettier's layout reported as stylelint problems.
/** @type {import('stylelint').Config} */
export default {
  // stylelint-config-standard extends stylelint-config-recommended (the template lists both).
  extends: ['stylelint-config-standard', 'stylelint-prettier/recommended'],
  plugins: ['stylelint-csstree-validator'],
  rules: {
    'csstree/validator': true,
    // As in the template: a prefixed property is sometimes the only one a supported browser
    // (Safari, say) understands, so a prefix is the author's call, not an error.
    'property-no-vendor-prefix': null,
    'selector-no-vendor-prefix': null,
    'value-no-vendor-prefix': null,
    // JupyterLab's class names: `jp-` + kebab-case parts that may hold camelCase
    // (`jp-hpclab-jobs-scroll`, `jp-SidePanel-content`).
    'selector-class-pattern': '^([a-z][A-z\\d]*)(-[A-z\\d]+)*$'
  }
};
