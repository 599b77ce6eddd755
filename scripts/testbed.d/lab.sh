# hpclab's JupyterLab (lab/) installed on the testbed cluster, as a site installs JupyterLab for
# its users: a copy every cluster user can read (the checkout may sit in a private home), which
# the Lab profiles run on the compute node. Sourced by scripts/testbed.

LAB_SRC=$here/../lab

# Builds lab/ if needed (idempotent) and copies it to $DIR/jupyterlab when it changed. A changed
# copy is swapped in whole; an unchanged one is left alone so a Lab running on the node keeps
# the files it loaded.
install_lab() {
  "$LAB_SRC/scripts/build" >/dev/null
  local dest=$DIR/jupyterlab
  if [ -d "$dest" ] && cmp -s "$LAB_SRC/build/static/bundle.js" "$dest/build/static/bundle.js" &&
    diff -rq "$LAB_SRC/server" "$dest/server" -x __pycache__ >/dev/null 2>&1; then
    return 0
  fi
  local tmp=$DIR/.jupyterlab.new
  rm -rf "$tmp"
  mkdir -p "$tmp/build"
  cp -r "$LAB_SRC/server" "$tmp/server"
  rm -rf "$tmp/server/__pycache__"
  cp -r "$LAB_SRC/build/static" "$LAB_SRC/build/schemas" "$LAB_SRC/build/themes" "$LAB_SRC/build/version.json" "$tmp/build/"
  chmod -R a+rX,go-w "$tmp"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  say "JupyterLab installed for the cluster's users in $dest"
}

# The argv a Lab profile runs on the node (the session adds the server flags).
lab_command_json() {
  echo "[\"/usr/bin/python3\", \"$DIR/jupyterlab/server/hpclab_lab.py\"]"
}
