# bash completion for regsweep: commands, options, and repository names / repo:tag
# references read from the storage given by --root or --config (or the default root; a
# bucket with --root s3://BUCKET/PREFIX and --s3-endpoint).

_regsweep_commands="ls report why rm gc prune policy apply fsck trash restore interactive"
_regsweep_global="--root --config --s3-endpoint --s3-region --registry-stopped --registry --username --password-stdin --insecure --ca-cert --page-size --state-dir --json --jobs --quiet --verbose --bytes --protect --color --version --help -i"
_regsweep_opts_ls=""
_regsweep_opts_report="--csv"
_regsweep_opts_why=""
_regsweep_opts_rm="--repository --untag --no-referrers --break-index --dry-run --yes --force --plan-out"
_regsweep_opts_gc="--delete-untagged --min-age --uploads-older-than --prune-empty-repos --trash --registry-bin --i-will-restart-the-registry --dry-run --yes --force --plan-out"
_regsweep_opts_prune="--repo --match --keep --no-default-keep --keep-last --older-than --untagged --no-referrers --gc --dry-run --yes --force --plan-out"
_regsweep_opts_policy="check"
_regsweep_opts_apply="--dry-run --yes --force"
_regsweep_opts_interactive="--dry-run --force"
_regsweep_opts_trash="ls empty --older-than --dry-run --yes"
_regsweep_opts_restore="--dry-run --yes --keep-newer --force"
_regsweep_opts_fsck="--verify --repair --upload-age --dry-run --yes --force --plan-out"

_regsweep() {
  local cur prev cmd storage=() i w
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  # bash splits "team/app:v1" at ':' into "team/app" ":" "v1": put the reference together.
  if [[ "$prev" == ":" && $COMP_CWORD -ge 2 ]]; then
    cur="${COMP_WORDS[COMP_CWORD-2]}:$cur"; prev="${COMP_WORDS[COMP_CWORD-3]}"
  elif [[ "$cur" == ":" ]]; then
    cur="$prev:"; prev="${COMP_WORDS[COMP_CWORD-2]}"
  fi
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    case "$w" in
      --root|--config|--s3-endpoint|--s3-region) storage+=("$w" "${COMP_WORDS[i+1]}"); ((i++)) ;;
      --root=*|--config=*|--s3-endpoint=*|--s3-region=*) storage+=("$w") ;;
      ls|report|why|rm|gc|prune|policy|apply|fsck|trash|restore|interactive) [ -z "$cmd" ] && cmd="$w" ;;
    esac
  done
  case "$prev" in
    --root|--registry-bin|--state-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --config|--plan-out|--ca-cert|--protect) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --repository|--repo)
      COMPREPLY=($(regsweep "${storage[@]}" __complete refs "$cur" 2>/dev/null | grep -v ':'))
      return ;;
    --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
    --s3-endpoint|--s3-region|--registry|--username|-u|--page-size) return ;;
    --jobs|-j|--min-age|--uploads-older-than|--upload-age|--older-than|--keep-last|--match|--keep) return ;;
  esac
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "$_regsweep_commands $_regsweep_global" -- "$cur"))
    return
  fi
  if [[ "$cur" == -* ]]; then
    local var="_regsweep_opts_$cmd"
    COMPREPLY=($(compgen -W "${!var} $_regsweep_global" -- "$cur"))
    return
  fi
  case "$cmd" in
    ls|rm|report|why)
      # bash splits words at ':', so complete the part after the last one.
      local refs
      refs=$(regsweep "${storage[@]}" __complete refs "$cur" 2>/dev/null)
      if [[ "$cur" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
        COMPREPLY=($(printf '%s\n' $refs | sed "s|^${cur%:*}:||"))
      else
        COMPREPLY=($refs)
      fi ;;
    apply) COMPREPLY=($(compgen -f -- "$cur")) ;;
    policy)
      if [[ "$prev" == policy ]]; then COMPREPLY=($(compgen -W "check" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi ;;
    fsck) COMPREPLY=($(regsweep "${storage[@]}" __complete refs "$cur" 2>/dev/null | grep -v ':')) ;;
    trash) COMPREPLY=($(compgen -W "ls empty" -- "$cur")) ;;
  esac
}
complete -F _regsweep regsweep
