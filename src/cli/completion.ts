// `clusterform completion bash|zsh`: a completion script generated from the CLI definition (commands, options,
// option values), completing inventory files, and host and group names for --limit (read from the inventory on the
// command line through the hidden `clusterform __complete-hosts INVENTORY`). zsh uses the bash function through
// bashcompinit.
import type { Command, Option } from 'commander';

const visible = (c: Command) => c.commands.filter((s) => !(s as unknown as { _hidden?: boolean })._hidden);
const words = (o: Option) => [o.short, o.long].filter((x): x is string => !!x);
const takesValue = (o: Option) => o.required || o.optional;

/** The `case` arm of one command path: its subcommands and options, and what its option values complete to. */
function commandCase(path: string, c: Command): string[] {
  const subs = visible(c).map((s) => s.name());
  const opts = [...c.options.flatMap(words), '--help'];
  const choiceArms = c.options.filter((o) => o.argChoices?.length).map((o) => `        ${words(o).join('|')}) COMPREPLY=($(compgen -W "${o.argChoices!.join(' ')}" -- "$cur")); return;;`);
  const fileOpts = c.options.filter((o) => takesValue(o) && !o.argChoices?.length && !/limit|tags|task|forks|lock|format/.test(o.long ?? '')).flatMap(words);
  return [
    `    "${path}")`,
    '      case "$prev" in',
    ...choiceArms,
    ...(fileOpts.length ? [`        ${fileOpts.join('|')}) _clusterform_files; return;;`] : []),
    '      esac',
    `      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "${opts.join(' ')}" -- "$cur")); return; fi`,
    subs.length ? `      COMPREPLY=($(compgen -W "${subs.join(' ')}" -- "$cur")); return;;` : '      _clusterform_files; return;;',
  ];
}

function allCommands(c: Command, prefix = ''): [string, Command][] {
  return visible(c).flatMap((s) => {
    const path = prefix ? `${prefix} ${s.name()}` : s.name();
    return [[path, s] as [string, Command], ...allCommands(s, path)];
  });
}

export function bashCompletion(program: Command): string {
  const cmds = allCommands(program);
  return `# clusterform bash completion. Load it with: source <(clusterform completion bash)
_clusterform_files() {
  compopt -o filenames 2>/dev/null
  COMPREPLY=($(compgen -f -- "$cur"))
}
_clusterform_inventory() {
  local i w prev_w=""
  for ((i = 1; i < \${#COMP_WORDS[@]}; i++)); do
    w="\${COMP_WORDS[i]}"
    if [[ "$prev_w" == "-i" || "$prev_w" == "--inventory" ]]; then echo "$w"; return; fi
    prev_w="$w"
  done
  for ((i = 2; i < \${#COMP_WORDS[@]}; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in *.yaml|*.yml) if [[ -f "$w" ]]; then echo "$w"; return; fi;; esac
  done
}
_clusterform() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ "$prev" == "-l" || "$prev" == "--limit" ]]; then
    local inv last pre
    inv="$(_clusterform_inventory)"
    [[ -n "$inv" ]] || return
    last="\${cur##*[,:&!]}"
    pre="\${cur%"$last"}"
    COMPREPLY=($(compgen -P "$pre" -W "$("\${COMP_WORDS[0]}" __complete-hosts "$inv" 2>/dev/null)" -- "$last"))
    compopt -o nospace 2>/dev/null
    return
  fi
  local path="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    case " ${cmds.map(([p]) => `|${p}|`).join(' ')} " in
      *"|\${path:+$path }$w|"*) path="\${path:+$path }$w";;
      *) break;;
    esac
  done
  case "$path" in
    "")
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-V --version -h --help" -- "$cur")); return; fi
      COMPREPLY=($(compgen -W "${visible(program).map((c) => c.name()).join(' ')}" -- "$cur")); return;;
${cmds.flatMap(([p, c]) => commandCase(p, c)).join('\n')}
  esac
}
complete -F _clusterform clusterform
`;
}

export function zshCompletion(program: Command): string {
  return `#compdef clusterform
# clusterform zsh completion. Load it with: source <(clusterform completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program).split('\n').slice(1).join('\n')}`;
}

export const SHELLS = ['bash', 'zsh'] as const;
