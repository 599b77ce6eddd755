# A Charliecloud image for container profiles (`env.container`, `runtime: charliecloud`): a
# Debian directory image with python3, ipykernel and nbclient, built offline from the mirror apt
# already uses. Sourced by scripts/testbed.

# ch-run only (the `charliecloud` package would pull docker.io, buildah and more); the image
# itself comes from debootstrap.
IMAGE_PACKAGES=(charliecloud-runtime debootstrap)
IMAGE_NAME=hpclab-debian
IMAGE_SUITE=bookworm
# A kernel, a session and a notebook run must work inside the image: ipykernel for kernels,
# Jupyter Server for a session's server, nbclient so a batch run can execute a notebook there.
IMAGE_PYTHON_PACKAGES=(python3 python3-ipykernel python3-jupyter-server python3-nbclient)
# Only a finished image has this file (written last, then the tree is renamed into place), so
# tests can tell the container's python from the host's. Bump the number to force a rebuild.
IMAGE_MARKER=/etc/hpclab-image
IMAGE_MARKER_LINE='hpclab-testbed-image 2'

image_path() { echo "$DIR/images/$IMAGE_NAME"; }

image_ready() { grep -qxF "$IMAGE_MARKER_LINE" "$1$IMAGE_MARKER" 2>/dev/null; }

# The Debian mirror apt itself uses (deb822 or one-line sources alike, as apt parsed them), so
# the build works wherever this machine's apt works; deb.debian.org when apt names none.
image_mirror() {
  local uri
  uri=$(apt-get indextargets --format '$(REPO_URI)' "Release: $IMAGE_SUITE" 'Component: main' \
    'Identifier: Packages' 2>/dev/null | head -1)
  echo "${uri:-http://deb.debian.org/debian/}"
}

# Deletes a tree an interrupted build left. debootstrap mounts /proc inside its target and only
# unmounts it on a clean exit: unmount whatever is under the tree first, and never let rm cross
# into another file system.
remove_image_tree() {
  local tree=$1 m
  [ -e "$tree" ] || return 0
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v p="$tree/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  rm -rf --one-file-system "$tree"
}

# Builds the image into $1 (missing or empty), logging to $2. Runs in a subshell: the caller
# disables errexit there (`|| die`), hence the explicit `|| return 1`s.
build_image() {
  local tree=$1 log=$2 mirror proxy=
  mirror=$(image_mirror)
  # The proxy apt has, if any: debootstrap's wget and the chroot's apt read http_proxy.
  eval "$(apt-config shell proxy Acquire::http::Proxy)"
  [ -z "$proxy" ] || export http_proxy=$proxy
  # Stage 1: minbase (essential packages + apt). debootstrap's --include cannot resolve the
  # virtual packages python3 needs, so python comes in stage 2 through apt.
  say "building the Charliecloud image from $mirror (~1 min; log: $log)"
  debootstrap --variant=minbase "$IMAGE_SUITE" "$tree" "$mirror" >"$log" 2>&1 || return 1
  # The chroot resolves the mirror's name itself: give it the host's names for the build.
  cp /etc/hosts "$tree/etc/hosts" || return 1
  # Stage 2. debootstrap left its package lists, so no `apt-get update` (and no mounts) needed.
  chroot "$tree" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive ${http_proxy:+"http_proxy=$http_proxy"} \
    apt-get install -y --no-install-recommends "${IMAGE_PYTHON_PACKAGES[@]}" >>"$log" 2>&1 || return 1
  # A read-only image cannot apt-get anyway: drop the .debs and the package lists (~50 MB).
  chroot "$tree" /usr/bin/apt-get clean >>"$log" 2>&1 || return 1
  rm -rf "$tree"/var/lib/apt/lists/* || return 1
  # ch-run binds the host's /etc/hosts, /etc/resolv.conf and /dev over the image's; an emptied
  # /dev also keeps `ch-image import` of this tree from reading dev/zero forever.
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$tree/etc/hosts" || return 1
  find "$tree/dev" -mindepth 1 -delete || return 1
  # ch-run runs as the user, to whom the image's root-owned files are "other": it needs x on the
  # image dir and every parent, and r on what the program opens. Packages set their own modes
  # (umask 022 does the rest); the few files they keep private (shadow, /root, ldconfig's cache,
  # apt's locks) are nothing python needs, so no blanket chmod. Prove it as a user who owns
  # nothing here, before the tree is marked finished.
  chmod 755 "$tree" || return 1
  (cd / && runuser -u nobody -- /usr/bin/env -i PATH=/usr/bin:/bin USER=nobody HOME=/nonexistent \
    ch-run "$tree" -- python3 -c 'import ipykernel, jupyter_server, nbclient') >>"$log" 2>&1 || return 1
  echo "$IMAGE_MARKER_LINE" >"$tree$IMAGE_MARKER" && chmod 644 "$tree$IMAGE_MARKER"
}

# Builds the image once; a finished one (marked) is reused. The build goes to a temp dir next
# to the image and is renamed into place at the end, so an interrupted build never leaves a
# tree that looks finished. A lock keeps two testbeds from building at once.
ensure_image() {
  local dest tmp fd
  # Even for a finished image: it is no use without ch-run.
  "$here/need-debian-packages" "${IMAGE_PACKAGES[@]}"
  dest=$(image_path)
  image_ready "$dest" && return 0
  # Traversable by the user ch-run runs as ($DIR already is: the cluster's Lab lives there).
  mkdir -p "$DIR/images"
  chmod 755 "$DIR/images"
  exec {fd}>"$DIR/images/.$IMAGE_NAME.lock"
  flock "$fd"
  # Another testbed may have finished it while this one waited for the lock.
  if ! image_ready "$dest"; then
    tmp=$DIR/images/.$IMAGE_NAME.new
    remove_image_tree "$tmp"
    (umask 022 && build_image "$tmp" "$DIR/images/$IMAGE_NAME.log") ||
      die "building the Charliecloud image failed (see $DIR/images/$IMAGE_NAME.log)"
    # An unmarked tree at the destination is an older or foreign leftover: replace it.
    remove_image_tree "$dest"
    mv "$tmp" "$dest"
    say "Charliecloud image ready in $dest ($(du -sh "$dest" | cut -f1))"
  fi
  exec {fd}>&-
}
