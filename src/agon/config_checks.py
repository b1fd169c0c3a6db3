"""Rules between keys of the run configuration, which a JSON schema cannot state: one concern per check.

``agon.config.validate_config`` runs them, in ``CHECKS`` order, on a config the schema has passed (so every key is
there, with its type and range); each yields one line per problem, naming the key(s) and the value. Rules about one
key (types, ranges, choices, which keys an external judge of each method takes) are the schema's.
"""

import difflib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from agon.bootstrap import written_targets
from agon.names import EMBEDDED, MEMBER_METHODS, NAME, NAME_RULE

Problems = Iterator[str]


def prompt_slice_problems(config: dict) -> Problems:
    task = config["task"]
    needed = config["iterations"] * task["prompts_per_iteration"]
    if needed > task["preference_size"]:
        yield (
            f"config key 'task.preference_size': {task['preference_size']} prompts cannot give each of the "
            f"{config['iterations']} iterations a fresh slice of task.prompts_per_iteration="
            f"{task['prompts_per_iteration']}; need at least {needed}"
        )


def not_a_plain_name(key: str, name: object) -> str:
    """The one message for a name that cannot be a file name, from the schema's pattern or from ``name_problems``."""
    return f"config key '{key}': {name!r} is not a plain name ({NAME_RULE}); names become file names under results/"


def name_problems(config: dict) -> Problems:
    """Names become paths under results/: each must be one plain path component, and no two may differ only in
    case, which a case-insensitive file system (macOS, Windows) would store as one file."""
    judging = config["judging"]
    named = [
        ("run", [config["run"]]),
        ("models", list(config["models"])),
        ("judging.judges", judging["judges"]),
        ("judging.external", list(judging["external"])),
    ]
    for key, given in named:
        for name in given:
            if not NAME.fullmatch(name):
                yield not_a_plain_name(key, name)
    # A member judges under its own name, so a member named like a judge method would share that judge's verdicts.
    taken = sorted(set(config["models"]) & {*MEMBER_METHODS, "verifier"})
    if taken:
        yield f"config key 'models': {taken} are judge names (peer, logprob, verifier); give the models other names"
    # A judge's verdicts are weighed by its name: an outsider named like a member would borrow its rating.
    clashes = sorted(set(judging["external"]) & {*config["models"], *MEMBER_METHODS, "verifier"})
    if clashes:
        yield (
            f"config key 'judging.external': {clashes} are also model or judge method names; "
            "give the judges their own names"
        )
    by_case: dict[str, list[str]] = {}
    for name in dict.fromkeys([*config["models"], *judging["external"], *MEMBER_METHODS, "verifier"]):
        by_case.setdefault(name.casefold(), []).append(name)
    for same in by_case.values():
        if len(same) > 1:
            yield (
                f"config: model and judge names {same} differ only in case; a case-insensitive file system "
                "(macOS, Windows) would keep their files as one"
            )


def population_problems(config: dict) -> Problems:
    """How many members each protocol needs, and members that judge need more: never their own duels."""
    models, protocol = list(config["models"]), config["protocol"]
    if protocol == "tribe" and len(models) < 2:
        yield f"config key 'models': the tribe protocol needs at least 2 models to duel, got {models}"
    if protocol == "debate" and len(models) < 2:
        yield f"config key 'models': a debate needs two debaters, got {models}"
    member_judges = sorted(set(MEMBER_METHODS) & set(config["judging"]["judges"]))
    if member_judges and protocol in ("tribe", "debate") and len(models) == 2:
        # One message with every way out: a third member, or a judge that is not a member.
        outsiders = "the verifier or an external judge" if protocol == "tribe" else "an external judge"
        yield (
            f"config key 'judging.judges': {member_judges} judges are the members outside a duel, and the 2 models "
            f"{models} leave none; add a third model, or drop {', '.join(member_judges)} from judging.judges and "
            f"make judging.signal {outsiders} (judging.external, docs/judges.md)"
        )
    if member_judges and protocol == "selfplay" and len(models) < 2:
        yield (
            f"config key 'judging.judges': {member_judges} judges are the other members, "
            f"so selfplay needs at least 2 models for them, got {len(models)}"
        )


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """The hint "; did you mean 'x'?" with the choice closest to a mistyped ``word``; "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def judge_problems(config: dict) -> Problems:
    judging = config["judging"]
    signal, judges, known = judging["signal"], judging["judges"], [*MEMBER_METHODS, "verifier", *judging["external"]]
    if signal not in judges:
        hint = "; add it to judging.judges" if signal in known else did_you_mean(signal, [*judges, *known])
        yield f"config key 'judging.signal': {signal!r} must be one of judging.judges {judges}{hint}"
    undefined = [j for j in judges if j not in known]
    if undefined:
        guesses = [f"{close[0]!r} for {j!r}" for j in undefined if (close := difflib.get_close_matches(j, known, 1))]
        yield (
            f"config key 'judging.judges': {undefined} are neither peer, logprob, verifier nor judges defined "
            f"under judging.external {sorted(judging['external'])}"
            + (f"; did you mean {', '.join(guesses)}?" if guesses else "")
        )


def credentials_in_url(url: str) -> str | None:
    """What in ``url`` looks like a credential (a user or password, a query string), or None. Keys come from the
    environment only: a URL is written to logs, caches and job parameters."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return "a user name or password (user:password@host)"
    if parts.query:
        return "a query string (?...), where keys and tokens hide"
    return None


def endpoint_problems(config: dict) -> Problems:
    """Keys come from the environment only. Not a schema pattern: its message would repeat the URL, and with it
    the credential."""
    for name, judge in config["judging"]["external"].items():
        if "base_url" in judge and (secret := credentials_in_url(judge["base_url"])):
            yield (
                f"config key 'judging.external.{name}.base_url': holds {secret}; put the key in an environment "
                "variable and name it in api_key_env"
            )


def judges_per_duel(config: dict) -> int:
    """How many judges a tribe duel has: the members outside it for a member signal judge, else the one judge."""
    return len(config["models"]) - 2 if config["judging"]["signal"] in MEMBER_METHODS else 1


def default_min_judges(config: dict) -> int:
    """``pairs.min_judges`` left null: two judges where a duel has them, so that one judge's word never makes a
    pair, else the one judge it has (3 members judged by peers: 1)."""
    return max(1, min(2, judges_per_duel(config)))


def pair_filter_problems(config: dict) -> Problems:
    """A tribe duel is judged by the members outside it (or by one judge): min_judges must be reachable."""
    judging = config["judging"]
    if config["protocol"] != "tribe" or judging["signal"] not in judging["judges"]:
        return  # judge_problems names a signal that does not judge
    available, min_judges = judges_per_duel(config), config["pairs"]["min_judges"]
    if available < 1:
        return  # population_problems names a population that leaves no judge, with the ways out
    if min_judges > available:
        yield (
            f"config key 'pairs.min_judges': {min_judges} judges per duel cannot be met: signal "
            f"{judging['signal']!r} with {len(config['models'])} models leaves {available} judge(s) outside a duel; "
            f"set it to {available} or leave it out (null: as many as a duel has, at most 2)"
        )


def model_reference_problems(config: dict) -> Problems:
    """Keys that name members must name members of this population."""
    models, rating = list(config["models"]), config["rating"]
    unknown = sorted(set(config["tribe"]["initial_ratings"]) - set(models))
    if unknown:
        yield f"config key 'tribe.initial_ratings': {unknown} are not models of the population {models}"
    anchor = rating["bradley_terry"]["anchor"]
    if anchor is not None and anchor not in models:
        yield f"config key 'rating.bradley_terry.anchor': {anchor!r} is not a model of the population {models}"
    strangers = sorted(set(rating["sparta_static"]["weights"]) - set(models) - {"verifier"})
    if strangers:
        yield f"config key 'rating.sparta_static.weights': {strangers} are neither models {models} nor 'verifier'"


def rating_problems(config: dict) -> Problems:
    """Each scheme's config, built as the rate jobs build it, so that its rules between keys (SPARTA's
    initial_rating >= floor) stop the run before any job; the schema has already checked each key."""
    from agon.ratings import SCHEMES, rating_config  # pandas and openskill load only when a config is checked

    for scheme in SCHEMES:
        try:
            rating_config(scheme, config["rating"][scheme])
        except ValueError as err:
            yield f"config key 'rating.{scheme}': {str(err).removeprefix(f'rating.{scheme}: ')}"


def loss_problems(config: dict) -> Problems:
    training = config["training"]
    loss, weights = training["loss_type"], training["loss_weights"]
    if "sppo" in loss and config["protocol"] != "selfplay":
        yield "config key 'training.loss_type': sppo needs each answer's win rate, which only protocol selfplay has"
    elif "sppo" in loss and set(loss) - {"sppo", "sft"}:
        yield f"config key 'training.loss_type': sppo combines only with sft, got {loss}"
    if weights is not None and len(weights) != len(loss):
        yield f"config key 'training.loss_weights': {len(weights)} weights for {len(loss)} loss types {loss}"


def selfplay_problems(config: dict) -> Problems:
    samples = config["generation"]["samples_per_prompt"]
    if config["protocol"] == "selfplay" and samples < 2:
        yield (
            f"config key 'generation.samples_per_prompt': selfplay compares a model's answers, "
            f"so it needs >= 2, got {samples}"
        )


def debate_problems(config: dict) -> Problems:
    if config["protocol"] != "debate":
        return
    if config["judging"]["signal"] == "verifier":
        yield (
            "config key 'judging.signal': a debate's judge must read the transcript; the verifier only checks "
            "the answers (it measures the judge's accuracy instead)"
        )
    task = config["task"]
    if task["name"] in ("math", "alpaca") or (task["name"] == "custom" and not task["custom"]["choices"]):
        yield (
            f"config key 'task.name': debate argues the reference against a wrong candidate, which Agon takes "
            f"from a multiple-choice task's options or an integer reference; {task['name']!r} has neither"
        )


def backend_problems(config: dict) -> Problems:
    gpus, batch = config["gpus_per_job"], config["training"]["batch_size"]
    if gpus is not None and gpus > 1 and batch % gpus:
        yield (
            f"config key 'training.batch_size': {batch} pairs per step cannot be split evenly over the "
            f"gpus_per_job={gpus} training processes; make it a multiple of {gpus}"
        )
    generation = config["generation"]
    if generation["backend"] != "vllm":
        return
    parallel = generation["vllm"]["tensor_parallel_size"]
    if gpus is not None and parallel > gpus:
        yield (
            f"config key 'generation.vllm.tensor_parallel_size': {parallel} GPUs per engine, "
            f"but gpus_per_job gives each job {gpus}"
        )


def embedded_problems(config: dict) -> Problems:
    model = config["embedded"]["model"]
    if model["hidden_size"] % model["heads"]:
        yield (
            f"config key 'embedded.model.heads': {model['heads']} must divide "
            f"embedded.model.hidden_size={model['hidden_size']}"
        )
    for name, member in config["models"].items():
        if member["base"] != EMBEDDED:
            for key in ("sft_steps", "target_accuracy", "layers"):
                if member.get(key) is not None:
                    yield (
                        f"config key 'models.{name}.{key}': only embedded members are built; base is {member['base']!r}"
                    )


def task_problems(config: dict) -> Problems:
    """What the task's data and evaluator must offer the stages that the config turns on."""
    from agon.tasks import evaluator_name  # the task package imports datasets: only when a config is checked
    from agon.tasks.sources import LOCAL_FORMATS

    task = config["task"]
    if task["name"] == "custom":
        custom = task["custom"]
        if not custom["prompt"]:
            yield "config key 'task.custom.prompt': name the field of your records that holds the prompt"
        if custom["choices"] and not custom["reference"]:
            yield "config key 'task.custom.reference': with task.custom.choices, name the field of the right choice"
    source = task["source"]
    if source is not None and Path(source).suffix in LOCAL_FORMATS and not Path(source).expanduser().exists():
        yield f"config key 'task.source': {source} not found"
    if task["name"] == "arithmetic" and source is not None:
        yield "config key 'task.source': the arithmetic task is generated, it reads no data"
    if evaluator_name(task) is not None:
        return
    needs = [
        *(["judging.judges: verifier"] if "verifier" in config["judging"]["judges"] else []),
        *(["judging.peer_mode: reference"] if config["judging"]["peer_mode"] == "reference" else []),
        *(["evaluation.judge: verifier"] if config["evaluation"]["judge"] == "verifier" else []),
    ]
    for need in needs:
        yield (
            f"config key 'task.evaluator': {need} checks answers, but the {task['name']} task has no evaluator; "
            "set task.evaluator (exact, normalized, math, choice) or drop it"
        )
    # Embedded members train all their steps on such a task (agon.bootstrap.member_sft); a target written for it
    # would be silently unmet.
    for key, target in written_targets(config).items():
        yield (
            f"config key '{key}': {target} is a validation accuracy to stop SFT at, but the {task['name']} task has "
            "no evaluator to measure it; remove the key (SFT then runs all its steps) or set task.evaluator"
        )


def evaluation_problems(config: dict) -> Problems:
    """The judge of the win rate against the iteration-0 self must be one the config defines; member jurors judge
    another member's answers, never their own."""
    judge, external, models = config["evaluation"]["judge"], config["judging"]["external"], list(config["models"])
    if judge is None or judge == "auto":
        return  # auto is the signal judge, whose own checks hold
    known = ["auto", *MEMBER_METHODS, "verifier", *external]
    if judge not in known:
        yield (
            f"config key 'evaluation.judge': {judge!r} is none of auto, null, peer, logprob, verifier or a judge "
            f"of judging.external {sorted(external)}{did_you_mean(judge, known)}"
        )
    elif judge in MEMBER_METHODS and len(models) < 2:
        yield (
            f"config key 'evaluation.judge': {judge} judges by the other members, and the population is {models}; "
            "name the verifier, a judge of judging.external, or null"
        )


def tournament_problems(config: dict) -> Problems:
    """The tournament's judge must be one the config defines and able to judge every duel (a member judge needs a
    member outside both checkpoints' members), on no more prompts than the held-out split has."""
    tournament = config["tournament"]
    if not tournament["enabled"]:
        return
    from agon.plan import tournament_judge  # the plan loads the debate package: only for an enabled tournament
    from agon.tasks import evaluator_name  # the task package imports datasets: only when a config is checked

    external, models, task = config["judging"]["external"], list(config["models"]), config["task"]
    known = ["auto", *MEMBER_METHODS, "verifier", *external]
    if tournament["judge"] not in known:
        yield (
            f"config key 'tournament.judge': {tournament['judge']!r} is none of auto, peer, logprob, verifier or a "
            f"judge of judging.external {sorted(external)}{did_you_mean(tournament['judge'], known)}"
        )
        return
    judge = tournament_judge(config)
    shown = judge if tournament["judge"] == judge else f"auto (here {judge}, judging.signal)"
    if judge in MEMBER_METHODS and len(models) < 3:
        yield (
            f"config key 'tournament.judge': {shown} judges by the members, and a duel between checkpoints of two "
            f"of {models} leaves none outside it; name the verifier or a judge of judging.external"
        )
    if judge == "verifier" and evaluator_name(task) is None:
        yield (
            f"config key 'tournament.judge': verifier checks answers, but the {task['name']} task has no "
            "evaluator; set task.evaluator or name another judge"
        )
    if len(models) * (config["iterations"] + 1) < 2:
        yield "config key 'tournament.enabled': one checkpoint makes no tournament; add a member or an iteration"
    if tournament["prompts"] is not None and tournament["prompts"] > task["heldout_size"]:
        yield (
            f"config key 'tournament.prompts': {tournament['prompts']} is more than the held-out split's "
            f"task.heldout_size={task['heldout_size']}; lower it, or null for all"
        )


CHECKS: list[Callable[[dict], Problems]] = [
    prompt_slice_problems,
    name_problems,
    population_problems,
    judge_problems,
    endpoint_problems,
    pair_filter_problems,
    model_reference_problems,
    rating_problems,
    loss_problems,
    selfplay_problems,
    debate_problems,
    backend_problems,
    embedded_problems,
    task_problems,
    evaluation_problems,
    tournament_problems,
]


def cross_key_problems(config: dict) -> Problems:
    """Every check's problems, in ``CHECKS`` order."""
    for check in CHECKS:
        yield from check(config)
