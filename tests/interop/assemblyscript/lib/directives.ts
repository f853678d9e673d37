// Plugin configuration for the interop plugins: one directive per line, `<verb> <arg> [rest of line]`.
// AssemblyScript 0.14 ships no JSON parser, and a line format keeps each plugin's parser a few lines long.
// Blank lines and lines starting with `#` are ignored.

export class Directive {
  verb: string;
  arg: string;
  rest: string;

  constructor(verb: string, arg: string, rest: string) {
    this.verb = verb;
    this.arg = arg;
    this.rest = rest;
  }
}

// Splits `text` at the first space: [head, tail] (tail is "" when there is no space).
function splitFirst(text: string): string[] {
  const at = text.indexOf(" ");
  if (at < 0) {
    return [text, ""];
  }
  return [text.substring(0, at), text.substring(at + 1).trim()];
}

export function parseDirectives(config: string): Directive[] {
  const result: Directive[] = [];
  const lines = config.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length == 0 || line.startsWith("#")) {
      continue;
    }
    const head = splitFirst(line);
    const tail = splitFirst(head[1]);
    result.push(new Directive(head[0], tail[0], tail[1]));
  }
  return result;
}
