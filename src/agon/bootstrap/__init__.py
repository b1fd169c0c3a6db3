"""The embedded default population: a tokenizer and tiny Llama models built and fine-tuned offline."""

from agon.names import is_embedded

# Where SFT stops when nothing sets a target: members land in the range that leaves self-play room to improve.
DEFAULT_TARGET_ACCURACY = 0.6
# The targets the default population (config/config.yaml, the schema's default models) gives its members, so that
# they start at different accuracies. They are defaults, not choices: a task without an evaluator, which can measure
# no accuracy, trains these members all their steps instead of refusing a target nobody wrote.
DEFAULT_POPULATION_TARGETS = {"ada": 0.6, "bix": 0.65, "cyr": 0.7, "dov": 0.65}


def member_sft(config: dict, model: str, evaluator: str | None) -> dict:
    """The SFT settings of embedded member ``model``: embedded.sft with the member's own overrides, its target
    resolved. Without an evaluator nothing measures accuracy, so SFT stops by steps (agon.config_checks refuses a
    target written for such a task). With one: the member's ``target_accuracy`` (null: all steps), else
    embedded.sft's, else DEFAULT_TARGET_ACCURACY. Keys sorted, as the validated config's are, so the job's
    parameters do not change with the order they were given in."""
    member, sft = config["models"][model], dict(config["embedded"]["sft"])
    if member.get("sft_steps") is not None:
        sft["steps"] = member["sft_steps"]
    if evaluator is None:
        sft["target_accuracy"] = None
    elif "target_accuracy" in member:
        sft["target_accuracy"] = member["target_accuracy"]
    else:
        sft.setdefault("target_accuracy", DEFAULT_TARGET_ACCURACY)
    return dict(sorted(sft.items()))


def written_targets(config: dict) -> dict[str, float]:
    """The SFT targets of embedded members that the config itself sets, by config key: a member's own (unless the
    default population's for that member) and embedded.sft's where a member inherits it."""
    members = {name: m for name, m in config["models"].items() if is_embedded(m)}
    targets = {
        f"models.{name}.target_accuracy": m["target_accuracy"]
        for name, m in members.items()
        if m.get("target_accuracy") is not None and m["target_accuracy"] != DEFAULT_POPULATION_TARGETS.get(name)
    }
    inherited = config["embedded"]["sft"].get("target_accuracy")
    if inherited is not None and any("target_accuracy" not in m for m in members.values()):
        targets["embedded.sft.target_accuracy"] = inherited
    return targets
