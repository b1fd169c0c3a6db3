from agon.inference import inference_of
from agon.judging import JudgeConfig, judge_matches
from agon.logs import log_to

# vLLM starts its engine processes by spawning, which re-imports this file: only the parent may run the job.
if __name__ == "__main__":
    method = snakemake.wildcards.get("judge", "verifier")
    with log_to(snakemake.log[0]):
        judge_matches(
            snakemake.input.matches,
            list(snakemake.input.get("generations", [])),
            snakemake.output.judgments,
            JudgeConfig.from_dict({**snakemake.params.judging, "method": method}),
            judge_name=snakemake.wildcards.get("juror", "verifier"),
            evaluator=snakemake.params.evaluator,
            spec_dict=snakemake.params.spec,
            device=snakemake.params.device,
            generation=snakemake.params.get("generation"),
            threads=snakemake.threads,
            duels_path=snakemake.input.get("duels"),
            branches_path=snakemake.output.get("branches"),
            shard=int(snakemake.wildcards.get("shard", 0)),
            shards=snakemake.params.shards,
            inference=inference_of(snakemake.input),
        )
