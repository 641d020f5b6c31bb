// A Dockerfile read as far as checking it without a container engine needs: its stages and, per stage, the
// instructions with their arguments (continuation lines joined, comments and parser directives dropped).
export interface Instruction {
  /** Upper case: FROM, RUN, COPY... */
  keyword: string;
  /** The rest of the line, continuations joined with a space. */
  args: string;
  /** 1-based line of the instruction. */
  line: number;
}

export interface Stage {
  /** The name after AS, or the stage's index. */
  name: string;
  base: string;
  instructions: Instruction[];
}

export interface CopyInstruction {
  /** The stage named by --from, or undefined for the build context. */
  from: string | undefined;
  sources: string[];
  destination: string;
}

export function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i]!;
      if (/^\s*#/.test(next)) continue; // comments inside a continued instruction are dropped
      line = `${line.slice(0, -1)} ${next.trim()}`;
    }
    const m = /^\s*(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`line ${start + 1}: not an instruction: ${line}`);
    instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 });
  }
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const [base = '', as, name] = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      stages.push({
        name: as?.toUpperCase() === 'AS' && name ? name : String(stages.length),
        base,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      args.push(ins);
    } else stages.at(-1)!.instructions.push(ins);
  }
  return { args, stages };
}

/** COPY/ADD arguments: flags, sources, destination (JSON-array form too). */
export function copyOf(ins: Instruction): CopyInstruction {
  const words = ins.args.startsWith('[')
    ? (JSON.parse(ins.args) as string[])
    : ins.args.split(/\s+/).filter((w) => w !== '');
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  if (paths.length < 2) throw new Error(`line ${ins.line}: COPY needs a source and a destination`);
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1)! };
}
