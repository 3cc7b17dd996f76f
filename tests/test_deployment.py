"""The deployment files name only what exists, and document what they use.

No Docker engine runs here, so nothing is built or started: these tests parse the Dockerfile, the
compose files, the Render blueprint, the CI workflow (and the Procfile and docs/deployment.md) and
check every command, module, Makefile target and environment variable they name against the project.
Each checker returns a list of problems; the last tests feed them broken snippets to prove they see them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click
import pytest
import yaml
from flask.cli import ScriptInfo
from flask.cli import cli as flask_cli
from werkzeug.exceptions import HTTPException

from flowapp.config import PROJECT_ROOT, REQUIRED_IN_PRODUCTION, SECRET_SETTINGS, Config

ROOT = PROJECT_ROOT
DOCKERFILE = "Dockerfile"
DEV_COMPOSE = "docker-compose.yml"
PROD_COMPOSE = "docker-compose.prod.yml"
RENDER = "render.yaml"
WORKFLOW = ".github/workflows/ci.yml"
DEPLOYMENT_FILES = (DOCKERFILE, DEV_COMPOSE, PROD_COMPOSE, RENDER, WORKFLOW)
# Where commands are checked: the deployment files, and the Procfile and the guide, which name them too.
COMMAND_FILES = (*DEPLOYMENT_FILES, "Procfile", "docs/deployment.md")

# Variables that belong to the platform or the tooling around Flowapp, not to Flowapp's configuration:
# Flowapp never reads them, so env.example and the README's configuration table leave them out.
# A name ending in "*" covers a prefix. Every entry must be used by some deployment file.
PLATFORM_VARIABLES = {
    "PORT": "the port a platform (Render, a PaaS) assigns; only gunicorn's --bind reads it",
    "WEB_CONCURRENCY": "gunicorn's worker count, the convention gunicorn and Render share",
    "FORWARDED_ALLOW_IPS": "gunicorn's own setting: the proxies trusted for X-Forwarded-Proto",
    "PYTHONUNBUFFERED": "the interpreter's flag: log lines reach `docker logs` at once",
    "PYTHONDONTWRITEBYTECODE": "the interpreter's flag: no .pyc written beside read-only code",
    "PATH": "the image puts its virtualenv's bin/ first",
    "PYTHON_VERSION": "Render's Python runtime picks its interpreter from it",
    "POSTGRES_*": "the postgres image's and CI service's own settings (user, password, database)",
    "CI": "the test suite's switch (README): browser tests fail instead of skipping",
    "TEST_DATABASE_URL": "the test suite's database (README, `make test`), never read by the app",
}

# Stand-ins for ${VAR} and $VAR when a command is parsed (gunicorn wants numbers for these).
SAMPLE_VALUES = {"PORT": "5000", "WEB_CONCURRENCY": "2"}

VAR_REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)|\$([A-Z_][A-Z0-9_]*)")
SHELL_WRAPPERS = {"exec", "env", "sudo", "nohup", "time", "then", "do", "else", "if", "while", "!"}
SHELL_OPERATORS = {";", "&&", "||", "|", "&", "(", ")", ";;"}
PYTHON = re.compile(r"^python(3(\.\d+)?)?$")


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def load_yaml(name: str) -> dict:
    return yaml.safe_load(read(name))


# --- shell commands -------------------------------------------------------------------------------


def substitute(text: str) -> str:
    """Expand ${VAR:-default}, ${VAR:?message}, ${VAR} and $VAR the way a shell or Compose would."""
    text = re.sub(r"\$\{\{[^}]*\}\}", "expression", text)  # GitHub Actions expressions

    def expand(match: re.Match) -> str:
        name, operator, word = match.group(1), match.group(2), match.group(3)
        if operator and operator.endswith("-"):
            return word
        return SAMPLE_VALUES.get(name, "value")

    text = re.sub(r"\$\{([A-Za-z_]\w*)(?:(:?[-?])([^}]*))?\}", expand, text)
    return re.sub(r"\$([A-Z_][A-Z0-9_]*)", lambda m: SAMPLE_VALUES.get(m.group(1), "value"), text)


def simple_commands(script: str | list[str]) -> list[list[str]]:
    """The simple commands of a shell script (or of an exec-form list), as lists of words."""
    if isinstance(script, list):
        return [[substitute(str(word)) for word in script]]
    commands = []
    for line in re.sub(r"\\\n", " ", script).splitlines():
        lexer = shlex.shlex(substitute(line), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        for token in lexer:
            if token in SHELL_OPERATORS:
                commands.append(current)
                current = []
            else:
                current.append(token)
        commands.append(current)
    return [words for words in commands if words]


@dataclass(frozen=True)
class Invocation:
    """A program Flowapp ships or relies on, found in a command: what it is and its arguments."""

    kind: str  # flask | gunicorn | module | python-c | make
    args: tuple[str, ...]
    target: str = ""  # the module for kind "module"


def invocations(script: str | list[str]) -> Iterator[Invocation]:
    """Every flask, gunicorn, `python -m`, `python -c` and make invocation in a script."""
    for words in simple_commands(script):
        yield from _invocations_in(words)


def _invocations_in(words: list[str]) -> Iterator[Invocation]:
    while words and (words[0] in SHELL_WRAPPERS or re.match(r"^[A-Za-z_]\w*=", words[0])):
        words = words[1:]
    if not words:
        return
    program = Path(words[0]).name
    rest = words[1:]
    if program in ("sh", "bash") and "-c" in rest:
        position = rest.index("-c")
        if position + 1 < len(rest):
            yield from invocations(rest[position + 1])
    elif program in ("flask", "gunicorn", "make"):
        yield Invocation(program, tuple(rest))
    elif PYTHON.match(program):
        yield from _python_invocation(rest)
    else:
        # A command run by another one: `docker compose run --rm web flask --app wsgi ...` (inside the
        # container), `systemd-run ... /opt/flowapp/.venv/bin/flask ...` (a path to the program).
        for position, word in enumerate(rest):
            name = Path(word).name
            if (name in ("flask", "gunicorn") or PYTHON.match(name)) and (program == "docker" or "/" in word):
                yield from _invocations_in(rest[position:])
                return


def _python_invocation(args: list[str]) -> Iterator[Invocation]:
    position = 0
    while position < len(args):
        word = args[position]
        if word == "-m" and position + 1 < len(args):
            module, rest = args[position + 1], tuple(args[position + 2 :])
            if module in ("flask", "gunicorn"):
                yield Invocation(module, rest)
            else:
                yield Invocation("module", rest, target=module)
            return
        if word == "-c" and position + 1 < len(args):
            yield Invocation("python-c", (args[position + 1],))
            return
        if word in ("-W", "-X"):
            position += 1
        elif not word.startswith("-"):
            return  # a script file or stdin
        position += 1


def makefile_targets() -> set[str]:
    """The explicit targets of the Makefile."""
    targets = set()
    for line in read("Makefile").splitlines():
        match = re.match(r"^([^\s#:=][^:=]*?)\s*::?(?!=)", line)
        if match:
            targets.update(name for name in match.group(1).split() if "%" not in name)
    return targets


class CommandChecker:
    """Checks invocations against the real project: Flask's CLI of a built app, gunicorn's parser,
    importable modules (and the sandbox's own option parser), the Makefile."""

    def __init__(self, app):
        self.app = app
        self.targets = makefile_targets()

    def problems(self, script: str | list[str], where: str) -> list[str]:
        try:
            found = list(invocations(script))
        except ValueError as exc:  # unbalanced quotes
            return [f"{where}: cannot parse {script!r}: {exc}"]
        return [f"{where}: {problem}" for invocation in found for problem in self.check(invocation)]

    def check(self, invocation: Invocation) -> list[str]:
        args = list(invocation.args)
        if invocation.kind == "flask":
            return self.flask_problems(args)
        if invocation.kind == "gunicorn":
            return gunicorn_problems(args)
        if invocation.kind == "make":
            return make_problems(args, self.targets)
        if invocation.kind == "python-c":
            try:
                compile(args[0], "<python -c>", "exec")
            except SyntaxError as exc:
                return [f"python -c code does not compile: {exc}"]
            return []
        return module_problems(invocation.target, args)

    def flask_problems(self, args: list[str]) -> list[str]:
        if "--app" not in args or args.index("--app") + 1 >= len(args):
            return [f"`flask {' '.join(args)}` has no --app"]
        position = args.index("--app")
        app_module = args[position + 1].split(":")[0]
        words = args[:position] + args[position + 2 :]
        if importlib.util.find_spec(app_module) is None:
            return [f"flask --app {app_module}: no module {app_module}"]
        info = ScriptInfo(create_app=lambda: self.app)
        with click.Context(flask_cli, info_name="flask", obj=info) as root:
            command: click.Command = flask_cli
            context = root
            path = ["flask", "--app", app_module]
            while isinstance(command, click.Group):
                if not words or words[0].startswith("-"):
                    return [f"`{' '.join(path)}` names no command"]
                name = words.pop(0)
                path.append(name)
                sub = command.get_command(context, name)
                if sub is None:
                    known = ", ".join(command.list_commands(context))
                    return [f"`{' '.join(path)}`: no such command (there are: {known})"]
                context = click.Context(sub, info_name=name, parent=context)
                command = sub
            try:
                _, leftover, _ = command.make_parser(context).parse_args(args=list(words))
            except click.UsageError as exc:
                return [f"`{' '.join(path)}`: {exc.format_message()}"]
            if leftover and not any(isinstance(p, click.Argument) for p in command.params):
                return [f"`{' '.join(path)}`: unexpected arguments {leftover}"]
        return []


def gunicorn_problems(args: list[str]) -> list[str]:
    """Parse with gunicorn's own option parser; exactly one module:attribute that exists."""
    from gunicorn.config import Config as GunicornConfig

    parser = GunicornConfig(usage="%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn").parser()
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            parsed = parser.parse_args(args)
    except SystemExit:
        return [f"gunicorn {' '.join(args)}: {errors.getvalue().strip().splitlines()[-1]}"]
    if len(parsed.args) != 1:
        return [f"gunicorn {' '.join(args)}: expected one APP_MODULE, got {parsed.args}"]
    return app_target_problems(parsed.args[0])


def app_target_problems(target: str) -> list[str]:
    """`module:attribute` whose module is a file of this project (its import is tested separately)."""
    module, _, attribute = target.partition(":")
    if not module or not attribute.isidentifier():
        return [f"{target!r} is not module:attribute"]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or ROOT not in Path(spec.origin).resolve().parents:
        return [f"{target!r}: no module {module} in the project"]
    return []


def module_problems(module: str, args: list[str]) -> list[str]:
    """`python -m module`: importable; Flowapp's own modules' options are parsed by their parsers."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        return [f"python -m {module}: no such module"]
    if module == "flowapp.sandbox":
        from flowapp.sandbox.cli import parse_args

        errors = io.StringIO()
        try:
            with contextlib.redirect_stderr(errors):
                parse_args(args)
        except SystemExit:
            return [f"python -m {module} {' '.join(args)}: {errors.getvalue().strip().splitlines()[-1]}"]
    return []


def make_problems(args: list[str], targets: set[str]) -> list[str]:
    """Every target named on a make command line is in the Makefile (none: the default goal)."""
    wanted, skip = [], False
    for word in args:
        if skip:
            skip = False
        elif word in ("-C", "-f", "-j", "-l", "-I", "-o", "-W"):
            skip = True
        elif not word.startswith("-") and "=" not in word:
            wanted.append(word)
    return [f"make {name}: no such target in the Makefile" for name in wanted if name not in targets]


# --- where the commands are -----------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with their continuation lines joined; comments and blank lines dropped."""
    instructions: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not parts:
            start = number
        if line.endswith("\\"):
            parts.append(line[:-1].strip())
            continue
        parts.append(line)
        keyword, _, args = " ".join(part for part in parts if part).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        parts = []
    if parts:
        raise ValueError("the Dockerfile ends inside a continued line")
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    starts = [i for i, instruction in enumerate(instructions) if instruction.keyword == "FROM"]
    if not starts:
        raise ValueError("no FROM")
    return instructions[starts[-1] :]


def exec_or_shell(args: str) -> str | list[str]:
    """An instruction's command: the JSON (exec) form as a list, else the shell form as a string."""
    if args.startswith("["):
        return [str(word) for word in json.loads(args)]
    return args


def healthcheck_command(args: str) -> str | list[str]:
    if args.strip().upper() == "NONE":
        return []
    match = re.search(r"(?:^|\s)CMD\s+(.*)$", args)
    if not match:
        raise ValueError(f"HEALTHCHECK without CMD: {args!r}")
    return exec_or_shell(match.group(1).strip())


def dockerfile_commands(instructions: list[Instruction]) -> list[tuple[str, str | list[str]]]:
    found = []
    for instruction in instructions:
        where = f"{DOCKERFILE}:{instruction.line} {instruction.keyword}"
        if instruction.keyword in ("RUN", "CMD", "ENTRYPOINT"):
            found.append((where, exec_or_shell(instruction.args)))
        elif instruction.keyword == "HEALTHCHECK":
            found.append((where, healthcheck_command(instruction.args)))
    return found


def compose_commands(doc: dict, name: str) -> list[tuple[str, str | list[str]]]:
    found = []
    for service_name, service in (doc.get("services") or {}).items():
        for key in ("command", "entrypoint"):
            if service.get(key):
                found.append((f"{name} services.{service_name}.{key}", service[key]))
        test = (service.get("healthcheck") or {}).get("test")
        if isinstance(test, list) and test and test[0] == "CMD":
            found.append((f"{name} services.{service_name}.healthcheck", test[1:]))
        elif isinstance(test, list) and test and test[0] == "CMD-SHELL":
            found.append((f"{name} services.{service_name}.healthcheck", test[1]))
        elif isinstance(test, str):
            found.append((f"{name} services.{service_name}.healthcheck", test))
    return found


def render_commands(doc: dict) -> list[tuple[str, str]]:
    keys = ("buildCommand", "preDeployCommand", "startCommand", "dockerCommand")
    return [
        (f"{RENDER} {service['name']}.{key}", service[key])
        for service in doc.get("services") or []
        for key in keys
        if service.get(key)
    ]


def workflow_commands(doc: dict) -> list[tuple[str, str]]:
    return [
        (f"{WORKFLOW} {job_name}: {step.get('name', step['run'])}", step["run"])
        for job_name, job in (doc.get("jobs") or {}).items()
        for step in job.get("steps") or []
        if "run" in step
    ]


def procfile_commands() -> list[tuple[str, str]]:
    return [
        (f"Procfile {line.split(':', 1)[0]}", line.split(":", 1)[1])
        for line in read("Procfile").splitlines()
        if ":" in line and not line.startswith("#")
    ]


def markdown_commands(name: str) -> list[tuple[str, str]]:
    """Commands in a Markdown file's fenced blocks: shell lines ($ prompts removed), and the Exec*= lines
    of systemd units (```ini blocks)."""
    found, language = [], None
    lines = re.sub(r"\\\n", " ", read(name)).splitlines()
    for line in lines:
        fence = re.match(r"^\s*```(\w*)", line)
        if fence:
            language = None if language is not None else fence.group(1)
            continue
        if language in ("", "sh", "bash", "shell", "console"):
            command = re.sub(r"^\s*\$\s+", "", line).strip()
            if command and not command.startswith("#"):
                found.append((f"{name}: {command[:50]}", command))
        elif language == "ini" and (match := re.match(r"^\s*Exec\w*=[-@:+!]*(.+)$", line)):
            found.append((f"{name}: {match.group(1)[:50]}", match.group(1)))
    return found


def commands_of(name: str) -> list[tuple[str, str | list[str]]]:
    """(where, script) for every command a file runs."""
    if name == DOCKERFILE:
        return dockerfile_commands(parse_dockerfile(read(DOCKERFILE)))
    if name in (DEV_COMPOSE, PROD_COMPOSE):
        return compose_commands(load_yaml(name), name)
    if name == RENDER:
        return render_commands(load_yaml(RENDER))
    if name == WORKFLOW:
        return workflow_commands(load_yaml(WORKFLOW))
    if name == "Procfile":
        return procfile_commands()
    return markdown_commands(name)


# --- environment variables ------------------------------------------------------------------------


def strings_in(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def references(texts) -> set[str]:
    return {a or b for text in texts for a, b in VAR_REFERENCE.findall(text)}


def environment_keys(environment) -> set[str]:
    """Keys of a Compose/Actions `environment:`/`env:`, as a mapping or a list of KEY=VALUE."""
    if isinstance(environment, dict):
        return {str(key) for key in environment}
    if isinstance(environment, list):
        return {str(item).split("=", 1)[0] for item in environment}
    return set()


def env_blocks(value) -> Iterator:
    """Every `env:`/`environment:` block anywhere in a parsed YAML document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("env", "environment") and isinstance(item, dict | list):
                yield item
            yield from env_blocks(item)
    elif isinstance(value, list):
        for item in value:
            yield from env_blocks(item)


def dockerfile_variables(instructions: list[Instruction]) -> set[str]:
    names = references(instruction.args for instruction in instructions)
    for instruction in instructions:
        if instruction.keyword in ("ENV", "ARG"):
            for word in shlex.split(instruction.args):
                names.add(word.split("=", 1)[0])
                if "=" not in word and instruction.keyword == "ENV":
                    break  # legacy `ENV KEY value`
    return names


def yaml_variables(doc: dict) -> set[str]:
    """Compose and workflow files: keys of every environment block, and every ${VAR} / $VAR used."""
    names = references(strings_in(doc))
    for block in env_blocks(doc):
        names |= environment_keys(block)
    return names


def render_variables(doc: dict) -> set[str]:
    names = references(strings_in(doc))
    owners = list(doc.get("services") or []) + list(doc.get("envVarGroups") or [])
    for owner in owners:
        for entry in owner.get("envVars") or []:
            if "key" in entry:
                names.add(entry["key"])
            if "envVarKey" in (entry.get("fromService") or {}):
                names.add(entry["fromService"]["envVarKey"])
    return names


def variables_by_file() -> dict[str, set[str]]:
    return {
        DOCKERFILE: dockerfile_variables(parse_dockerfile(read(DOCKERFILE))),
        DEV_COMPOSE: yaml_variables(load_yaml(DEV_COMPOSE)),
        PROD_COMPOSE: yaml_variables(load_yaml(PROD_COMPOSE)),
        RENDER: render_variables(load_yaml(RENDER)),
        WORKFLOW: yaml_variables(load_yaml(WORKFLOW)),
    }


def allowed_platform_variable(name: str) -> bool:
    return any(
        name == entry or (entry.endswith("*") and name.startswith(entry[:-1])) for entry in PLATFORM_VARIABLES
    )


def env_example_variables(text: str) -> set[str]:
    """Names env.example assigns, commented out (`# NAME=...`) or not."""
    return set(re.findall(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", text, re.M))


def readme_configuration_variables(text: str) -> set[str]:
    """Names in the first column of the table in the README's `## Configuration` section."""
    match = re.search(r"^## Configuration\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not match:
        return set()
    return set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", match.group(1), re.M))


def undocumented(names: set[str], env_example: str, readme: str) -> list[str]:
    in_example = env_example_variables(env_example)
    in_readme = readme_configuration_variables(readme)
    problems = []
    for name in sorted(names):
        if allowed_platform_variable(name):
            continue
        if name not in in_example:
            problems.append(f"{name} is not in env.example")
        if name not in in_readme:
            problems.append(f"{name} is not in the README's configuration table")
    return problems


def flowapp_settings() -> set[str]:
    """Every setting Flowapp reads from the environment or has a default for."""
    return set(Config.from_env()) | set(Config.defaults())


# --- Dockerfile and .dockerignore -----------------------------------------------------------------


def dockerignore_patterns() -> list[str]:
    lines = read(".dockerignore").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern:
    pattern = pattern.strip("/")
    out, position = "", 0
    while position < len(pattern):
        if pattern.startswith("**/", position):
            out, position = out + "(?:.*/)?", position + 3
        elif pattern.startswith("**", position):
            out, position = out + ".*", position + 2
        elif pattern[position] == "*":
            out, position = out + "[^/]*", position + 1
        elif pattern[position] == "?":
            out, position = out + "[^/]", position + 1
        else:
            out, position = out + re.escape(pattern[position]), position + 1
    return re.compile(out + "(?:/.*)?$")  # a pattern that names a folder excludes what is inside


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether `docker build` leaves `path` (relative to the context) out; the last match wins."""
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if _pattern_regex(pattern.lstrip("!")).match(path.strip("/")):
            excluded = not negated
    return excluded


def shipped_files(source: str) -> list[str]:
    """The files under `source` a clean checkout has: tracked, or new and not ignored by git."""
    try:
        result = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", source],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return [line for line in result.stdout.splitlines() if line]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: what is on disk
        path = ROOT / source
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        return [str(p.relative_to(ROOT)) for p in files if "__pycache__" not in p.parts]


def copy_sources(instruction: Instruction) -> tuple[list[str], dict[str, str]]:
    """The sources of a COPY/ADD and its --flags."""
    words = exec_or_shell(instruction.args)
    words = words if isinstance(words, list) else shlex.split(words)
    flags = dict(word[2:].split("=", 1) for word in words if word.startswith("--") and "=" in word)
    paths = [word for word in words if not word.startswith("--")]
    return paths[:-1], flags


def project_paths_read_by_the_app() -> set[str]:
    """Top-level entries of the repository the package opens at run time (`PROJECT_ROOT / "x"`)."""
    top_level = {entry.name for entry in ROOT.iterdir()}
    created_at_run_time = {"logs", "instance", ".env"}  # LOG_DIR, INSTANCE_PATH, an optional file
    names = set()
    for path in (ROOT / "flowapp").rglob("*.py"):
        for name in re.findall(r"PROJECT_ROOT\s*/\s*[\"']([^\"'/]+)", path.read_text(encoding="utf-8")):
            names.add(name)
    return (names & top_level) - created_at_run_time


def dockerfile_problems(text: str, patterns: list[str]) -> list[str]:
    try:
        instructions = parse_dockerfile(text)
        stage = final_stage(instructions)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    stages = {
        match.group(1)
        for instruction in instructions
        if instruction.keyword == "FROM" and (match := re.search(r"\s+AS\s+(\S+)$", instruction.args, re.I))
    }
    if not stage[0].args.split()[0].startswith("python:3.11"):
        problems.append(f"the final image is not based on python:3.11: {stage[0].args}")

    users = [i for i in stage if i.keyword == "USER"]
    runs = " ".join(i.args for i in stage if i.keyword == "RUN")
    if not users:
        problems.append("the final stage has no USER: the processes would run as root")
    else:
        user = users[-1].args.split(":")[0]
        if user in ("root", "0"):
            problems.append(f"the final USER is root ({users[-1].args})")
        elif user.isdigit() and not re.search(rf"--uid[ =]{user}\b|-u {user}\b", runs):
            problems.append(f"USER {user}: no RUN in the final stage creates that uid")
        elif not user.isdigit() and not re.search(rf"(useradd|adduser)\b[^&;]*\b{user}\b", runs):
            problems.append(f"USER {user}: no RUN in the final stage creates that user")

    copied = set()
    for instruction in instructions:
        if instruction.keyword not in ("COPY", "ADD"):
            continue
        sources, flags = copy_sources(instruction)
        if "from" in flags:
            if flags["from"] not in stages and not flags["from"].isdigit():
                problems.append(f"line {instruction.line}: COPY --from={flags['from']}: no such stage")
            continue
        for source in sources:
            source = source.removeprefix("./").rstrip("/") or "."
            copied.add(source.split("/")[0])
            files = shipped_files(source)
            if not files:
                problems.append(f"line {instruction.line}: COPY {source}: not in the repository")
            elif all(dockerignored(f, patterns) for f in files):
                problems.append(f"line {instruction.line}: COPY {source}: excluded by .dockerignore")
            else:
                hidden = [f for f in files if dockerignored(f, patterns) and not f.endswith(".pyc")]
                if hidden:
                    problems.append(f"line {instruction.line}: .dockerignore hides {hidden[:3]}")
    for needed in sorted(project_paths_read_by_the_app() - copied):
        problems.append(f"the app reads {needed}/ at run time but the image does not copy it")
    return problems


def dockerfile_environment(stage: list[Instruction]) -> dict[str, str]:
    values = {}
    for instruction in stage:
        if instruction.keyword == "ENV":
            for word in shlex.split(instruction.args):
                if "=" in word:
                    key, value = word.split("=", 1)
                    values[key] = value
    return values


# --- Compose --------------------------------------------------------------------------------------


def command_text(command) -> str:
    return shlex.join(command) if isinstance(command, list) else str(command or "")


def seconds(duration) -> float:
    total = 0.0
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001, "": 1}
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)?", str(duration)):
        total += float(number) * units[unit]
    return total


def depends_condition(service: dict, name: str) -> str | None:
    """The condition `service` waits for on `name` (None: no dependency, or the short list syntax)."""
    depends = service.get("depends_on") or {}
    if not isinstance(depends, dict):
        return None
    return (depends.get(name) or {}).get("condition")


def service_env(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {str(key): "" if value is None else str(value) for key, value in environment.items()}


def compose_problems(doc: dict, production: bool) -> list[str]:
    services = doc.get("services") or {}
    problems = [
        f"no {name} service"
        for name in ("postgres", "redis", "web", "worker", "scheduler")
        if name not in services
    ]
    if problems:
        return problems
    app_services = {
        name: s for name, s in services.items() if "build" in s or "flowapp" in str(s.get("image"))
    }
    migrations = [name for name, s in app_services.items() if "db upgrade" in command_text(s.get("command"))]
    if len(migrations) != 1:
        return problems + [f"expected one migrations service running `db upgrade`, found {migrations}"]
    migrate = migrations[0]
    if services[migrate].get("restart", "no") != "no":
        problems.append(f'{migrate}: restart must be "no" (quoted), got {services[migrate].get("restart")!r}')
    if depends_condition(services[migrate], "postgres") != "service_healthy":
        problems.append(f"{migrate} must wait for postgres to be healthy")

    for name in ("web", "worker", "scheduler"):
        if depends_condition(services[name], migrate) != "service_completed_successfully":
            problems.append(f"{name} must depend on {migrate} with condition service_completed_successfully")
        if depends_condition(services[name], "redis") != "service_healthy":
            problems.append(f"{name} must wait for redis to be healthy")
    expected = {"worker": "flask --app wsgi worker", "scheduler": "flask --app wsgi scheduler"}
    for name, command in expected.items():
        if command_text(services[name].get("command")) != command:
            problems.append(f"{name} must run `{command}`")
    if "wsgi:app" not in command_text(services["web"].get("command")) or "gunicorn" not in command_text(
        services["web"].get("command")
    ):
        problems.append("web must run gunicorn ... wsgi:app")
    if (services["web"].get("healthcheck") or {}).get("disable"):
        problems.append("web disables the /healthz healthcheck")
    if not any(str(port).endswith(":5000") for port in services["web"].get("ports") or []):
        problems.append("web does not publish port 5000")
    if seconds(services["worker"].get("stop_grace_period", "10s")) < 60:
        problems.append("worker: stop_grace_period under 60s kills the job in flight")

    for name, image, check in (("postgres", "postgres:16", "pg_isready"), ("redis", "redis:7", "redis-cli")):
        service = services[name]
        if not str(service.get("image", "")).startswith(image):
            problems.append(f"{name}: image {service.get('image')!r}, expected {image}")
        if check not in command_text((service.get("healthcheck") or {}).get("test")):
            problems.append(f"{name}: no healthcheck with {check}")
        if not any(":" in str(v) and not str(v).startswith((".", "/")) for v in service.get("volumes") or []):
            problems.append(f"{name}: no named volume: the data would die with the container")
    if "--appendonly yes" not in command_text(services["redis"].get("command")):
        problems.append("redis: appendonly is off (queued jobs lost on restart)")

    for name, service in app_services.items():
        if "flowapp.sandbox" in command_text(service.get("command")):
            continue
        env = service_env(service)
        for variable, scheme, host_service in (
            ("DATABASE_URL", "postgresql", "postgres"),
            ("REDIS_URL", "redis", "redis"),
        ):
            url = urlsplit(substitute(env.get(variable, "")))
            if url.scheme != scheme or url.hostname != host_service:
                problems.append(f"{name}: {variable} must point at the {host_service} service")
        want = "production" if production else "development"
        if env.get("FLOWAPP_ENV") != want:
            problems.append(f"{name}: FLOWAPP_ENV must be {want}")
        if production:
            for secret in REQUIRED_IN_PRODUCTION:
                if not re.fullmatch(rf"\$\{{{secret}:\?[^}}]+\}}", env.get(secret, "")):
                    problems.append(f"{name}: {secret} must be required with ${{{secret}:?...}}")
    problems += (production_problems if production else development_problems)(services, app_services)
    return problems


def production_problems(services: dict, app_services: dict) -> list[str]:
    problems = []
    if "sandbox" in services or any(
        "flowapp.sandbox" in command_text(s.get("command")) for s in services.values()
    ):
        problems.append("production runs no sandbox")
    password = service_env(services["postgres"]).get("POSTGRES_PASSWORD", "")
    if not password.startswith("${POSTGRES_PASSWORD:?"):
        problems.append("postgres: POSTGRES_PASSWORD must be required with ${POSTGRES_PASSWORD:?...}")
    for name, service in services.items():
        one_off = "db upgrade" in command_text(service.get("command"))
        if not one_off and service.get("restart") not in ("unless-stopped", "always"):
            problems.append(f"{name}: restart: unless-stopped")
        if not (service.get("logging") or {}).get("options", {}).get("max-size"):
            problems.append(f"{name}: no log rotation (logging.options.max-size)")
        if not ((service.get("deploy") or {}).get("resources") or {}).get("limits", {}).get("memory"):
            problems.append(f"{name}: no memory limit (deploy.resources.limits.memory)")
        if name in app_services:
            for volume in service.get("volumes") or []:
                source = volume.get("source", "") if isinstance(volume, dict) else str(volume).split(":")[0]
                if source.startswith((".", "/", "~")):
                    problems.append(f"{name}: mounts {source} from the host (production uses the image)")
    if ((services["worker"].get("deploy") or {}).get("replicas") or 1) < 2:
        problems.append("worker: deploy.replicas under 2")
    if ((services["scheduler"].get("deploy") or {}).get("replicas") or 1) != 1:
        problems.append("scheduler: exactly one replica")
    if "WEB_CONCURRENCY" not in command_text(services["web"].get("command")):
        problems.append("web: gunicorn's --workers must come from WEB_CONCURRENCY")
    return problems


def development_problems(services: dict, app_services: dict) -> list[str]:
    sandbox = services.get("sandbox")
    if not sandbox:
        return ["no sandbox service (sandbox mode needs the mock Graph API)"]
    problems = []
    options = sandbox_options(sandbox)
    if options is None:
        return ["sandbox must run `python -m flowapp.sandbox ...`"]
    secrets = {service_env(s).get("APP_SECRET") for name, s in app_services.items() if name != "sandbox"}
    if secrets != {service_env(sandbox).get("APP_SECRET")}:
        problems.append("sandbox: APP_SECRET must be the app's (it signs the webhooks the app checks)")
    webhook = urlsplit(options.webhook_url or "")
    if webhook.hostname not in services or webhook.port != 5000:
        problems.append(f"sandbox: --webhook-url {options.webhook_url} does not reach the web service")
    if options.host != "0.0.0.0":
        problems.append("sandbox: --host 0.0.0.0, or no other container reaches it")
    for name in ("web", "worker", "scheduler"):
        graph = urlsplit(service_env(services[name]).get("GRAPH_API_URL", ""))
        if (graph.hostname, graph.port) != ("sandbox", options.port):
            problems.append(f"{name}: GRAPH_API_URL must be http://sandbox:{options.port}")
    return problems


def sandbox_options(service: dict):
    """The parsed options of a `python -m flowapp.sandbox` service, or None."""
    from flowapp.sandbox.cli import parse_args

    for invocation in invocations(service.get("command") or ""):
        if invocation.kind == "module" and invocation.target == "flowapp.sandbox":
            return parse_args(list(invocation.args))
    return None


# --- Render ---------------------------------------------------------------------------------------


def render_env(doc: dict, service: dict) -> dict[str, dict]:
    """A service's variables (its groups' included) by key, each as its blueprint entry."""
    groups = {group["name"]: group for group in doc.get("envVarGroups") or []}
    entries = {}
    for entry in service.get("envVars") or []:
        if "fromGroup" in entry:
            for grouped in groups.get(entry["fromGroup"], {}).get("envVars") or []:
                entries[grouped["key"]] = grouped
        else:
            entries[entry["key"]] = entry
    return entries


def render_origin(doc: dict, service: dict, key: str, depth: int = 0) -> tuple:
    """Where a service's variable gets its value: one origin shared means one value everywhere."""
    for entry in service.get("envVars") or []:
        if entry.get("key") == key:
            source = entry.get("fromService") or {}
            other = next((s for s in doc.get("services") or [] if s["name"] == source.get("name")), None)
            if "envVarKey" in source and other is not None and depth < 5:
                return render_origin(doc, other, source["envVarKey"], depth + 1)
            return ("service", service["name"], key)
    for entry in service.get("envVars") or []:
        group = next((g for g in doc.get("envVarGroups") or [] if g["name"] == entry.get("fromGroup")), {})
        if any(grouped.get("key") == key for grouped in group.get("envVars") or []):
            return ("group", group["name"], key)
    return ("unset", service["name"], key)


def render_problems(doc: dict) -> list[str]:
    services = doc.get("services") or []
    by_name = {service["name"]: service for service in services}
    groups = {group["name"] for group in doc.get("envVarGroups") or []}
    databases = {database["name"] for database in doc.get("databases") or []}
    problems = [] if databases else ["no database (databases:)"]
    stores = {s["name"] for s in services if s.get("type") in ("keyvalue", "redis")}
    if not stores:
        problems.append("no Key Value (Redis) instance")
    for name in stores:
        if by_name[name].get("maxmemoryPolicy") != "noeviction" or "ipAllowList" not in by_name[name]:
            problems.append(f"{name}: needs ipAllowList and maxmemoryPolicy noeviction (queues)")

    webs = [s for s in services if s.get("type") == "web"]
    workers = [s for s in services if s.get("type") == "worker"]
    if len(webs) != 1:
        return problems + [f"expected one web service, found {len(webs)}"]
    web = webs[0]
    if web.get("healthCheckPath") != "/healthz":
        problems.append(f"web: healthCheckPath {web.get('healthCheckPath')!r}, expected /healthz")
    if web.get("preDeployCommand") != "flask --app wsgi db upgrade":
        problems.append("web: preDeployCommand must be `flask --app wsgi db upgrade`")
    if not re.match(r"^gunicorn .*\bwsgi:app$", web.get("startCommand", "")):
        problems.append("web: startCommand must be gunicorn ... wsgi:app")
    starts = {s.get("startCommand"): s for s in workers}
    for command in ("flask --app wsgi worker", "flask --app wsgi scheduler"):
        if command not in starts:
            problems.append(f"no worker service running `{command}`")
    scheduler = starts.get("flask --app wsgi scheduler", {})
    if scheduler.get("numInstances", 1) != 1:
        problems.append("the scheduler runs as exactly one instance")

    for service in [web, *workers]:
        name = service["name"]
        if service.get("runtime") == "python" and "requirements.txt" not in service.get("buildCommand", ""):
            problems.append(f"{name}: buildCommand must install requirements.txt")
        for entry in service.get("envVars") or []:
            if "fromGroup" in entry and entry["fromGroup"] not in groups:
                problems.append(f"{name}: fromGroup {entry['fromGroup']}: no such group")
        env = render_env(doc, service)
        for key in ("FLOWAPP_ENV", "DATABASE_URL", "REDIS_URL", *REQUIRED_IN_PRODUCTION):
            if key not in env:
                problems.append(f"{name}: {key} is not set")
        if env.get("FLOWAPP_ENV", {}).get("value") != "production":
            problems.append(f"{name}: FLOWAPP_ENV must be production")
        database = env.get("DATABASE_URL", {}).get("fromDatabase") or {}
        if database.get("name") not in databases or database.get("property") != "connectionString":
            problems.append(f"{name}: DATABASE_URL must come fromDatabase (connectionString)")
        store = env.get("REDIS_URL", {}).get("fromService") or {}
        if store.get("name") not in stores or store.get("property") != "connectionString":
            problems.append(f"{name}: REDIS_URL must come fromService (the Key Value's connectionString)")
        for key, entry in env.items():
            source = entry.get("fromService") or {}
            if "envVarKey" in source:
                other = by_name.get(source.get("name"))
                if other is None or source["envVarKey"] not in render_env(doc, other):
                    problems.append(f"{name}: {key} fromService {source.get('name')}: no such variable there")
            if key in SECRET_SETTINGS and "value" in entry:
                problems.append(f"{name}: {key} is a secret: generateValue or sync: false, never a value")
    for key in SECRET_SETTINGS:
        origins = {render_origin(doc, service, key) for service in [web, *workers]}
        if len(origins) > 1:
            problems.append(f"{key}: the services get different values from {sorted(map(str, origins))}")
    web_env = render_env(doc, web)
    if not web_env.get("SECRET_KEY", {}).get("generateValue"):
        problems.append("SECRET_KEY must be generateValue: true")
    for key in ("WHATSAPP_TOKEN", "APP_SECRET", "WEBHOOK_VERIFY_TOKEN", "PHONE_NUMBER_ID", "BUSINESS_ID"):
        if web_env.get(key, {}).get("sync") is not False:
            problems.append(f"web: {key} must be `sync: false` (entered in the Dashboard)")
    return problems


# --- GitHub Actions -------------------------------------------------------------------------------


def workflow_problems(doc: dict) -> list[str]:
    problems = []
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    triggers = [triggers] if isinstance(triggers, str) else list(triggers or [])
    for event in ("push", "pull_request"):
        if event not in triggers:
            problems.append(f"does not run on {event}")
    jobs = doc.get("jobs") or {}
    test_jobs = [
        job
        for job in jobs.values()
        if "make test" in " ".join(s.get("run", "") for s in job.get("steps") or [])
    ]
    if not test_jobs:
        return problems + ["no job runs `make test`"]
    job = test_jobs[0]
    steps = job.get("steps") or []
    if job.get("runs-on") != "ubuntu-latest":
        problems.append("the test job runs on ubuntu-latest")
    images = {name: str(service.get("image", "")) for name, service in (job.get("services") or {}).items()}
    postgres = [name for name, image in images.items() if image.startswith("postgres:16")]
    redis = [name for name, image in images.items() if image.startswith("redis:7")]
    if not postgres or not redis:
        return problems + ["the test job needs postgres:16 and redis:7 services"]
    container = job.get("container")
    image = container.get("image") if isinstance(container, dict) else container
    python_setup = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python")]
    if not str(image or "").startswith("python:3.11") and not any(
        str((s.get("with") or {}).get("python-version")) == "3.11" for s in python_setup
    ):
        problems.append("Python 3.11 (a python:3.11 container or actions/setup-python 3.11)")
    # In a job container the services are reached by name; on the runner itself through localhost.
    hosts = {postgres[0], redis[0]} if container else {"localhost", "127.0.0.1"}

    if not any(str(s.get("uses", "")).startswith("actions/checkout") for s in steps):
        problems.append("no actions/checkout step")
    if not any("apt-get install" in s.get("run", "") and "chromium" in s.get("run", "") for s in steps):
        problems.append("Chromium is not installed (browser tests fail under CI=true)")
    job_env = {**(doc.get("env") or {}), **(job.get("env") or {})}
    if str(job_env.get("CI")).lower() != "true":
        problems.append('CI must be "true" for the job')
    if urlsplit(str(job_env.get("REDIS_URL", ""))).hostname not in hosts:
        problems.append("REDIS_URL must point at the redis service")
    databases = []
    for step in steps:
        if re.search(r"\bmake test\b", step.get("run", "")):
            databases.append({**job_env, **(step.get("env") or {})}.get("TEST_DATABASE_URL"))
    if None not in databases:
        problems.append("no `make test` without TEST_DATABASE_URL (SQLite)")
    urls = [urlsplit(str(url)) for url in databases if url]
    if not urls:
        problems.append("no `make test` with TEST_DATABASE_URL (PostgreSQL)")
    for url in urls:
        if not url.scheme.startswith("postgres") or url.hostname not in hosts:
            problems.append(f"TEST_DATABASE_URL {url.geturl()} does not reach the postgres service")
    if not any(re.search(r"\bmake lint\b", s.get("run", "")) for s in steps):
        problems.append("no `make lint`")
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    if not any(
        "test-artifacts" in str((s.get("with") or {}).get("path"))
        and re.search(r"always\(\)|failure\(\)", str(s.get("if")))
        for s in uploads
    ):
        problems.append("test-artifacts/ is not uploaded on failure")
    return problems


# === the tests ====================================================================================


def test_dockerfile_runs_as_non_root_and_copies_what_the_app_needs():
    """The final stage runs as a created non-root user and copies existing files the app reads."""
    assert dockerfile_problems(read(DOCKERFILE), dockerignore_patterns()) == []


def test_dockerfile_environment_and_writable_folders():
    """Production settings are baked in; LOG_DIR and INSTANCE_PATH are created and owned by the user."""
    stage = final_stage(parse_dockerfile(read(DOCKERFILE)))
    env = dockerfile_environment(stage)
    assert env["FLOWAPP_ENV"] == "production"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["LOG_DIR"] == "/app/logs"
    assert env["INSTANCE_PATH"] == "/app/instance"
    runs = [i.args for i in stage if i.keyword == "RUN"]
    assert any("chown" in run and env["LOG_DIR"] in run and env["INSTANCE_PATH"] in run for run in runs)
    assert any(i.keyword == "EXPOSE" and "5000" in i.args.split() for i in stage)
    installs = [i.args for i in parse_dockerfile(read(DOCKERFILE)) if "pip install" in i.args]
    assert installs and all("--no-cache-dir" in run and "requirements.txt" in run for run in installs)


def test_dockerfile_healthcheck_and_command(make_app):
    """HEALTHCHECK requests /healthz, a real route; CMD execs gunicorn on wsgi:app (signals reach it)."""
    stage = final_stage(parse_dockerfile(read(DOCKERFILE)))
    checks = [i for i in stage if i.keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    command = healthcheck_command(checks[0].args)
    assert "/healthz" in command_text(command)
    app = make_app()
    assert app.url_map.bind("localhost").match("/healthz", method="GET")[0]
    cmd = [i for i in stage if i.keyword == "CMD"]
    assert cmd, "no CMD"
    text = command_text(exec_or_shell(cmd[-1].args))
    kinds = [invocation.kind for invocation in invocations(exec_or_shell(cmd[-1].args))]
    assert kinds == ["gunicorn"] and "wsgi:app" in text
    if not text.startswith("gunicorn "):
        assert "exec gunicorn" in text, "a shell in front of gunicorn would keep SIGTERM from it"


def test_dockerignore_excludes_local_state_and_secrets():
    """The build context leaves out the virtualenv, git, local state, tests and .env."""
    patterns = dockerignore_patterns()
    for path in (".venv/bin/python", ".git/HEAD", "instance/flowapp.db", "logs/app.log", "tests/conftest.py"):
        assert dockerignored(path, patterns), path
    for path in ("bench/common.py", "node_modules/x/index.js", "flowapp/__pycache__/config.pyc", ".env"):
        assert dockerignored(path, patterns), path
    for path in (
        "flowapp/whatsapp/meta_send_schema.json",
        "wsgi.py",
        "requirements.txt",
        "migrations/env.py",
    ):
        assert not dockerignored(path, patterns), path


@pytest.mark.parametrize("name", COMMAND_FILES)
def test_every_command_exists(name, make_app):
    """Each flask command, gunicorn line, python module and make target a file names exists and parses."""
    commands = commands_of(name)
    assert commands, f"no command found in {name}"
    checker = CommandChecker(make_app())
    problems = [problem for where, script in commands for problem in checker.problems(script, where)]
    assert problems == []


def test_entry_points_import_in_production_mode(tmp_path):
    """Every module:attribute the files start (wsgi:app) imports under FLOWAPP_ENV=production."""
    targets = set()
    for name in COMMAND_FILES:
        for _, script in commands_of(name):
            for invocation in invocations(script):
                if invocation.kind == "gunicorn":
                    targets.update(
                        a for a in invocation.args if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", a)
                    )
                if invocation.kind == "flask" and "--app" in invocation.args:
                    app_target = invocation.args[invocation.args.index("--app") + 1]
                    targets.add(app_target if ":" in app_target else f"{app_target}:app")
    assert "wsgi:app" in targets
    # A container's environment: every Flowapp variable set (so no .env fills it), no server reached.
    env = {key: value for key, value in os.environ.items() if key not in flowapp_settings()}
    env.update({key: "" for key in Config.from_env()})
    env.update(
        FLOWAPP_ENV="production",
        SECRET_KEY="s" * 32,
        APP_SECRET="a" * 32,
        WEBHOOK_VERIFY_TOKEN="v" * 16,
        DATABASE_URL="postgresql://flowapp:x@127.0.0.1:9/flowapp",
        REDIS_URL="redis://127.0.0.1:9/0",
        LOG_DIR=str(tmp_path / "logs"),
        INSTANCE_PATH=str(tmp_path / "instance"),
        LOG_CONSOLE="false",
    )
    code = (
        "import importlib, sys\n"
        "for target in sys.argv[1:]:\n"
        "    module, attribute = target.split(':')\n"
        "    app = getattr(importlib.import_module(module), attribute)\n"
        "    assert callable(app), target\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code, *sorted(targets)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("name", DEPLOYMENT_FILES)
def test_every_variable_is_documented(name):
    """Variables the file sets or reads are in env.example and the README's table, or platform ones."""
    names = variables_by_file()[name]
    assert names, f"no variable found in {name}"
    assert undocumented(names, read("env.example"), read("README.md")) == []


def test_platform_allow_list_is_used_and_hides_no_setting():
    """Each allow-listed variable is used by some file and is not one of Flowapp's own settings."""
    used = set().union(*variables_by_file().values())
    for entry, reason in PLATFORM_VARIABLES.items():
        assert reason
        matches = {n for n in used if n == entry or (entry.endswith("*") and n.startswith(entry[:-1]))}
        assert matches, f"{entry} is allow-listed but no deployment file uses it"
        assert not matches & flowapp_settings(), f"{entry} is a Flowapp setting: document it instead"


def test_development_compose():
    """Dev stack: postgres, redis, one-off migrate first, web, worker, scheduler, a wired sandbox."""
    assert compose_problems(load_yaml(DEV_COMPOSE), production=False) == []


def test_development_compose_sandbox_calls_the_real_webhook_route(make_app):
    """The sandbox's --webhook-url path is the app's POST webhook route."""
    options = sandbox_options(load_yaml(DEV_COMPOSE)["services"]["sandbox"])
    adapter = make_app().url_map.bind("web")
    try:
        endpoint, _ = adapter.match(urlsplit(options.webhook_url).path, method="POST")
    except HTTPException as exc:
        pytest.fail(f"{options.webhook_url}: {exc}")
    assert "webhook" in endpoint


def test_production_compose():
    """Prod stack: required secrets, restart policies, limits, log rotation, no sandbox, no mounts."""
    assert compose_problems(load_yaml(PROD_COMPOSE), production=True) == []


def test_render_blueprint():
    """Render: web with /healthz and the pre-deploy migration, worker, one scheduler, database, Redis."""
    assert render_problems(load_yaml(RENDER)) == []


def test_ci_workflow():
    """CI: push and PRs, PostgreSQL and Redis services, Chromium, lint, make test twice, artifacts kept."""
    assert workflow_problems(load_yaml(WORKFLOW)) == []


# --- the checkers see broken files ----------------------------------------------------------------

GOOD_DOCKERFILE = """\
FROM python:3.11-slim
RUN useradd --uid 10001 flowapp
COPY wsgi.py ./
COPY flowapp/ flowapp/
COPY migrations/ migrations/
COPY templates/ templates/
COPY static/ static/
COPY examples/ examples/
USER 10001
"""


@pytest.mark.parametrize(
    "dockerfile, expected",
    [
        (GOOD_DOCKERFILE, None),
        (GOOD_DOCKERFILE.replace("USER 10001", "USER root"), "the final USER is root"),
        (GOOD_DOCKERFILE.replace("USER 10001\n", ""), "has no USER"),
        (GOOD_DOCKERFILE.replace("USER 10001", "USER 20002"), "creates that uid"),
        (GOOD_DOCKERFILE + "FROM python:3.11-slim\n", "has no USER"),
        (GOOD_DOCKERFILE.replace("COPY static/ static/", "COPY statics/ static/"), "COPY statics"),
        (GOOD_DOCKERFILE.replace("COPY templates/ templates/\n", ""), "reads templates/"),
        (GOOD_DOCKERFILE + "COPY --from=builder /opt/venv /opt/venv\n", "no such stage"),
        (GOOD_DOCKERFILE.replace("FROM python:3.11-slim", "FROM python:3.9"), "python:3.11"),
        (GOOD_DOCKERFILE + "RUN echo \\\n", "continued line"),
    ],
)
def test_dockerfile_checker_rejects_broken_files(dockerfile, expected):
    """The Dockerfile checker accepts a minimal good file and names each planted fault."""
    problems = dockerfile_problems(dockerfile, dockerignore_patterns())
    if expected is None:
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems


def test_dockerfile_checker_sees_copies_hidden_by_dockerignore():
    """A COPY source that .dockerignore excludes is reported."""
    problems = dockerfile_problems(GOOD_DOCKERFILE, [*dockerignore_patterns(), "static"])
    assert any("excluded by .dockerignore" in problem for problem in problems), problems


@pytest.mark.parametrize(
    "script, expected",
    [
        ("flask --app wsgi db upgrade", None),
        ("exec flask --app wsgi worker --burst -q webhooks", None),
        ("docker compose run --rm web flask --app wsgi create-user --email a@b.c --role admin", None),
        ("flask --app wsgi wokrer", "no such command"),
        ("flask --app wsgi db upgarde", "no such command"),
        ("flask --app wsgi worker --queue webhooks", "No such option"),
        ("flask --app wsgi worker -q webhooks sends", "unexpected arguments"),
        ("flask --app wsgy worker", "no module wsgy"),
        ("flask worker", "has no --app"),
        ("gunicorn --bind 0.0.0.0:${PORT:-5000} --workers ${WEB_CONCURRENCY:-4} wsgi:app", None),
        ("gunicorn --wrkers 4 wsgi:app", "unrecognized arguments"),
        ("gunicorn --workers 4 wsgi:application", None),  # the attribute is checked by the import test
        ("gunicorn --workers 4 app:wsgi", "no module app"),
        ("gunicorn --workers 4", "expected one APP_MODULE"),
        ("python -m flowapp.sandbox --host 0.0.0.0 --port 5001", None),
        ("python -m flowapp.sandbx --port 5001", "no such module"),
        ("python -m flowapp.sandbox --prot 5001", "unrecognized arguments"),
        (
            "python -c \"import urllib.request; urllib.request.urlopen('http://x/healthz'\"",
            "does not compile",
        ),
        ("make lint && make test PYTEST_ARGS=-x", None),
        ("make tset", "no such target"),
        (["sh", "-c", "exec gunicorn --threads 4 wsgi:nope-"], "not module:attribute"),
        ("echo 'unbalanced", "cannot parse"),
    ],
)
def test_command_checker_rejects_wrong_commands(script, expected, make_app):
    """The command checker accepts real commands and names each wrong one."""
    problems = CommandChecker(make_app()).problems(script, "snippet")
    if expected is None:
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems


def test_variable_checker_rejects_undocumented_names():
    """A variable missing from env.example or the README table is reported, each place separately."""
    snippet = yaml.safe_load(
        "services:\n  web:\n    environment:\n      FLOWAPP_SECRETZ: x\n      LOG_LEVEL: ${LOG_LEVL}\n"
    )
    names = yaml_variables(snippet)
    assert names == {"FLOWAPP_SECRETZ", "LOG_LEVEL", "LOG_LEVL"}
    problems = undocumented(names, read("env.example"), read("README.md"))
    assert problems == [
        "FLOWAPP_SECRETZ is not in env.example",
        "FLOWAPP_SECRETZ is not in the README's configuration table",
        "LOG_LEVL is not in env.example",
        "LOG_LEVL is not in the README's configuration table",
    ]
    readme_without = read("README.md").replace("| `LOG_LEVEL` |", "| LOG_LEVEL |")
    assert undocumented({"LOG_LEVEL"}, read("env.example"), readme_without) == [
        "LOG_LEVEL is not in the README's configuration table"
    ]


def _broken(name: str, edit) -> dict:
    doc = load_yaml(name)
    edit(doc)
    return doc


def _service_env(doc: dict, service: str) -> dict:
    """A service's environment (shared through the YAML anchor by every Flowapp service)."""
    return doc["services"][service]["environment"]


COMPOSE_FAULTS = {
    "web waits only for migrate to start": (
        False,
        lambda d: d["services"]["web"]["depends_on"]["migrate"].update(condition="service_started"),
        "web must depend on migrate",
    ),
    "an unquoted `restart: no` (YAML false)": (
        False,
        lambda d: d["services"]["migrate"].update(restart=False),
        'restart must be "no"',
    ),
    "no scheduler": (False, lambda d: d["services"].pop("scheduler"), "no scheduler service"),
    "the sandbox signs with another secret": (
        False,
        lambda d: _service_env(d, "sandbox").update(APP_SECRET="other"),
        "APP_SECRET must be the app's",
    ),
    "the app calls a Graph API no container serves": (
        False,
        lambda d: _service_env(d, "worker").update(GRAPH_API_URL="http://127.0.0.1:5001"),
        "worker: GRAPH_API_URL",
    ),
    "the sandbox listens on its loopback only": (
        False,
        lambda d: d["services"]["sandbox"].update(
            command="python -m flowapp.sandbox --webhook-url http://web:5000/w"
        ),
        "--host 0.0.0.0",
    ),
    "a database the container cannot reach": (
        False,
        lambda d: _service_env(d, "worker").update(DATABASE_URL="postgresql://x@localhost/x"),
        "worker: DATABASE_URL",
    ),
    "a production secret with no `:?`": (
        True,
        lambda d: _service_env(d, "web").update(SECRET_KEY="${SECRET_KEY}"),
        "web: SECRET_KEY must be required",
    ),
    "the worker killed after 10 s": (
        True,
        lambda d: d["services"]["worker"].update(stop_grace_period="10s"),
        "stop_grace_period",
    ),
    "the source mounted in production": (
        True,
        lambda d: d["services"]["worker"].update(volumes=[".:/app"]),
        "mounts . from the host",
    ),
    "a sandbox in production": (
        True,
        lambda d: d["services"].update(sandbox={"command": "python -m flowapp.sandbox"}),
        "no sandbox",
    ),
    "unrotated logs": (True, lambda d: d["services"]["redis"].pop("logging"), "redis: no log rotation"),
    "two schedulers": (
        True,
        lambda d: d["services"]["scheduler"]["deploy"].update(replicas=2),
        "exactly one replica",
    ),
}


@pytest.mark.parametrize("fault", COMPOSE_FAULTS)
def test_compose_checker_rejects_broken_stacks(fault):
    """The compose checker names each planted fault in an otherwise real file."""
    production, edit, expected = COMPOSE_FAULTS[fault]
    problems = compose_problems(_broken(PROD_COMPOSE if production else DEV_COMPOSE, edit), production)
    assert any(expected in problem for problem in problems), problems


def _render_service(doc: dict, name: str) -> dict:
    return next(service for service in doc["services"] if service["name"] == name)


def _render_entry(doc: dict, service: str, key: str) -> dict:
    return next(entry for entry in _render_service(doc, service)["envVars"] if entry.get("key") == key)


RENDER_FAULTS = {
    "another health path": (
        lambda d: _render_service(d, "flowapp-web").update(healthCheckPath="/health"),
        "healthCheckPath",
    ),
    "no migration before deploys": (
        lambda d: _render_service(d, "flowapp-web").pop("preDeployCommand"),
        "preDeployCommand",
    ),
    "no database": (lambda d: d.pop("databases"), "no database"),
    "two schedulers": (
        lambda d: _render_service(d, "flowapp-scheduler").update(numInstances=2),
        "exactly one instance",
    ),
    "a reference to a variable the web service lacks": (
        lambda d: _render_entry(d, "flowapp-worker", "APP_SECRET")["fromService"].update(
            envVarKey="APP_SECRT"
        ),
        "no such variable",
    ),
    "a committed secret": (
        lambda d: _render_entry(d, "flowapp-web", "APP_SECRET").update(value="hunter2"),
        "never a value",
    ),
    "a SECRET_KEY per service": (
        lambda d: _render_service(d, "flowapp-worker")["envVars"].append(
            {"key": "SECRET_KEY", "generateValue": True}
        ),
        "the services get different values",
    ),
}


@pytest.mark.parametrize("fault", RENDER_FAULTS)
def test_render_checker_rejects_broken_blueprints(fault):
    """The Render checker names each planted fault in an otherwise real blueprint."""
    edit, expected = RENDER_FAULTS[fault]
    problems = render_problems(_broken(RENDER, edit))
    assert any(expected in problem for problem in problems), problems


def _step(doc: dict, name: str) -> dict:
    return next(step for step in doc["jobs"]["test"]["steps"] if step.get("name", "").startswith(name))


WORKFLOW_FAULTS = {
    "pushes only": (lambda d: d.update({True: ["push"]}), "pull_request"),
    "no Redis": (lambda d: d["jobs"]["test"]["services"].pop("redis"), "redis:7"),
    "SQLite twice": (
        lambda d: _step(d, "Tests on PostgreSQL")["env"].pop("TEST_DATABASE_URL"),
        "with TEST_DATABASE_URL",
    ),
    "a database host no service has": (
        lambda d: _step(d, "Tests on PostgreSQL")["env"].update(TEST_DATABASE_URL="postgresql://x@db/x"),
        "does not reach",
    ),
    "screenshots dropped when tests fail": (
        lambda d: _step(d, "Keep the screenshots").update({"if": "success()"}),
        "test-artifacts",
    ),
    "a Makefile target that does not exist": (
        lambda d: _step(d, "Lint").update(run="make check"),
        "no `make lint`",
    ),
}


@pytest.mark.parametrize("fault", WORKFLOW_FAULTS)
def test_workflow_checker_rejects_broken_workflows(fault):
    """The workflow checker names each planted fault in an otherwise real workflow."""
    edit, expected = WORKFLOW_FAULTS[fault]
    problems = workflow_problems(_broken(WORKFLOW, edit))
    assert any(expected in problem for problem in problems), problems
