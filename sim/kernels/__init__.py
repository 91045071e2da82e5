"""Per-episode loops compiled with Numba: the inner parts of the daily step that run for every episode.

Each stage of the step (``sim.engine.model``) finds its episodes with numpy (``np.flatnonzero`` of a state), applies
the rules that only some scenarios switch on (``sim.policies.referral``, ``sim.policies.integration``,
``sim.policies.emergency``, ``sim.policies.assessment`` ...) as whole-array operations, and calls the loops here for
the rest. A loop reads the episode table's columns in place at the rows it is given and writes its results back into
them, or into the facilities' and the tally's columns, in one pass. The equations are those of the module each loop
names; written as a loop over episodes they read as the model states them ("for each finished treatment: its risks,
its outcome, its bill") and cost one call instead of dozens of whole-array operations, each with its
temporaries, whose fixed cost dominated small counties and whose memory traffic dominated large ones. Each
loop keeps the arithmetic, and so the numbers, of the array operations it replaced. Random numbers are
drawn with numpy, in the episode's birth order (``sim.engine.model._episode_draws``), never here.

One module per phase of the daily step (docs/ODD.md, section 3), and ``equations`` for what the phases share.
This package is a leaf: it imports nothing else of ``sim``, and takes every table and parameter as an
argument: as the records of ``records``, by phase (the episode columns the phase reads or writes, what else it
reads or adds to, and the scenario's numbers it follows), a few per loop; a loop with several results returns them
as a record too. Loops are compiled on
first use and cached beside their source (``cache=True``), so a new process pays the compilation once per
machine; ``sim.engine.warmup.load`` warms them.
"""

from __future__ import annotations

from sim.kernels.beds import admit, by_level, discharge
from sim.kernels.choice import book_choices, choose_options
from sim.kernels.completion import die, finish_treatments, forgo_outcomes, tally_treatments
from sim.kernels.equations import (
    PRIORITIES,
    add_counts,
    add_weights,
    capability_factor,
    curvature,
    delay_factor,
    gated,
    guideline_charges,
    guideline_row,
    stay_margin,
    years_of_life_lost,
)
from sim.kernels.learning import learn_cost_beliefs, most_likely_capability, observe_outcomes
from sim.kernels.onset import onset_cases, write_episodes
from sim.kernels.queueing import clinic_wait_hours, erlang_c
from sim.kernels.records import (
    EPISODE_RECORDS,
    Arrivals,
    BedColumns,
    Beds,
    BookingColumns,
    CaseContext,
    CaseDecisions,
    CaseMix,
    CaseTables,
    CaseTerms,
    ChoiceColumns,
    ChoiceTerms,
    CompletionColumns,
    DecisionCases,
    DecisionColumns,
    DrawColumns,
    EpisodeDraws,
    EpisodeStart,
    Evidence,
    FinishedCases,
    FirstContactVisits,
    ForgoneOutcomes,
    Gate,
    GuidelineCharges,
    MarginTerms,
    OnsetColumns,
    Onsets,
    OutcomesSeen,
    ProviderRules,
    SeenCases,
    SeenColumns,
    Stakes,
    Tariff,
    TreatmentColumns,
    TreatmentContext,
    TreatmentCounts,
    TreatmentOutcomes,
    TreatmentRules,
    Treatments,
    TreatmentTally,
    Visits,
)
from sim.kernels.service import (
    count_visits,
    decide_cases,
    gated_rows,
    gather_cases,
    optimum,
    record_decisions,
    serve_queue,
    transfer_destinations,
)

# one loop of each phase module: each module has its own cache stamp
_ENTRY_LOOPS = (guideline_charges, write_episodes, choose_options, admit, decide_cases, finish_treatments,
                observe_outcomes, clinic_wait_hours)


def compiled() -> bool:
    """Whether the loops are compiled and cached for this source (else the next use compiles them: about half a
    minute, once per machine and version). The loops of one module share its source file's stamp, so one entry
    loop per module answers for all; if Numba's cache index cannot be read, the answer is True (nothing to
    announce)."""
    try:
        return all(bool(loop._cache._cache_file._load_index()) for loop in _ENTRY_LOOPS)
    except Exception:  # a Numba without this (private) cache layout
        return True
