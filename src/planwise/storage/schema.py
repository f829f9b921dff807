"""The storage contract (architecture.md): every table the other layers and checks rely on.

Append-only: rows are inserted, never updated, except the `is_active` flag of parameter
sets and census versions, the status and progress columns of runs and optimizations, and
a continued run's end year and horizon metrics (replaced when years are added).
"""

from __future__ import annotations

from planwise.simulation.outputs import (
    EVENT_TYPE_NAMES,
    STATUS_CODE_NAMES,
    TERMINATION_REASON_NAMES,
    StatusCode,
)

__all__ = [
    "BACKFILL_STATEMENTS",
    "IS_ACTIVE",
    "MIGRATABLE_VERSIONS",
    "SCHEMA_STATEMENTS",
    "SCHEMA_VERSION",
]

SCHEMA_VERSION = 6
"""3 → 4 added `parameter_set_activations`, the writer columns of `optimization_runs` and
the ensemble tables; 4 → 5 the run status `writing` with `pending_end_year` and the
`completed_runs` view the contract views read through; 5 → 6 the pay-structure event types
and the approval tables (all additive: upgraded in place, see database.py)."""
MIGRATABLE_VERSIONS = frozenset({3, 4, 5})
"""Older versions whose upgrade only adds tables, views or columns: `SCHEMA_STATEMENTS` run
again (every statement is idempotent) plus `BACKFILL_STATEMENTS` bring them up to date."""


def _quoted(names: tuple[str, ...]) -> str:
    return ", ".join(f"'{name}'" for name in names)


# A snapshot row of someone employed on Dec 31 (the status codes `YearSnapshot.is_active` uses).
IS_ACTIVE = "detailed_status_code IN ({})".format(
    _quoted(
        (
            STATUS_CODE_NAMES[StatusCode.CONTINUOUS_ACTIVE],
            STATUS_CODE_NAMES[StatusCode.NEW_HIRE_ACTIVE],
        )
    )
)


SCHEMA_STATEMENTS: tuple[str, ...] = (
    "CREATE SEQUENCE IF NOT EXISTS parameter_set_id_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS run_id_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS optimization_id_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS ensemble_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS schema_info (
        schema_version INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS census_versions (
        census_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        row_count INTEGER NOT NULL,
        starting_headcount INTEGER NOT NULL,
        as_of_date DATE NOT NULL,
        imported_at TIMESTAMP NOT NULL,
        is_active BOOLEAN NOT NULL,
        note VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS census (
        census_id VARCHAR NOT NULL,
        employee_id VARCHAR NOT NULL,
        birth_date DATE NOT NULL,
        hire_date DATE NOT NULL,
        termination_date DATE,
        active BOOLEAN NOT NULL,
        job_level INTEGER NOT NULL,
        job_level_source VARCHAR NOT NULL,
        annual_salary DOUBLE,
        gender VARCHAR,
        department VARCHAR,
        in_starting_workforce BOOLEAN NOT NULL,
        workforce_key INTEGER  -- 0, 1, 2, ... over the starting workforce, in file order
    )""",
    """CREATE TABLE IF NOT EXISTS scenarios (
        scenario_id VARCHAR PRIMARY KEY,
        created_from VARCHAR,
        created_at TIMESTAMP NOT NULL,
        created_by VARCHAR NOT NULL,
        note VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS parameter_sets (
        parameter_set_id INTEGER PRIMARY KEY,
        scenario_id VARCHAR NOT NULL,
        parent_id INTEGER,
        is_active BOOLEAN NOT NULL,
        created_at TIMESTAMP NOT NULL,
        created_by VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        note VARCHAR
    )""",
    # Each time a set became its scenario's active set: who, when, and how (the set's
    # source for a new set; `apply` when an existing set, e.g. an optimizer's answer, was
    # made active). Append-only.
    """CREATE TABLE IF NOT EXISTS parameter_set_activations (
        parameter_set_id INTEGER NOT NULL,
        scenario_id VARCHAR NOT NULL,
        activated_at TIMESTAMP NOT NULL,
        activated_by VARCHAR NOT NULL,
        action VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS comp_levers (
        parameter_set_id INTEGER NOT NULL,
        scenario_id VARCHAR NOT NULL,
        fiscal_year INTEGER NOT NULL,
        job_level INTEGER NOT NULL,
        event_type VARCHAR NOT NULL,
        parameter_name VARCHAR NOT NULL,
        parameter_value DOUBLE NOT NULL,
        is_locked BOOLEAN NOT NULL,
        created_at TIMESTAMP NOT NULL,
        created_by VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS simulation_runs (
        run_id INTEGER PRIMARY KEY,
        scenario_id VARCHAR NOT NULL,
        parameter_set_id INTEGER NOT NULL,
        census_id VARCHAR NOT NULL,
        seed BIGINT NOT NULL,
        start_year INTEGER NOT NULL,
        end_year INTEGER NOT NULL,
        status VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        code_version VARCHAR NOT NULL,
        settings_json VARCHAR NOT NULL,
        purpose VARCHAR NOT NULL,
        optimization_id INTEGER,
        default_parameter_set_id INTEGER
    )""",
    # The event log and the year-end snapshots are stored normalized: each run numbers its
    # employees (integer `employee_key`, in the engine's order: the census's starting
    # workforce by its `workforce_key`, then each year's hires); events and snapshot rows
    # refer to that key, low-cardinality codes are ENUMs. The starting workforce's id,
    # dates and gender are read from the census, a hire's are stored once per run in
    # `simulation_hires`; the view `simulation_employees` gives both. Readers use the
    # contract views `fct_yearly_events` and `fct_workforce_snapshot`, which give every
    # column by name. Storing a 100,000-employee, five-year run this way takes about a
    # third less time than repeating the id, dates and code strings on every row.
    f"CREATE TYPE IF NOT EXISTS planwise_event_type AS ENUM ({_quoted(EVENT_TYPE_NAMES)})",
    f"CREATE TYPE IF NOT EXISTS planwise_status_code AS ENUM ({_quoted(STATUS_CODE_NAMES)})",
    "CREATE TYPE IF NOT EXISTS planwise_termination_reason AS ENUM "
    f"({_quoted(TERMINATION_REASON_NAMES[1:])})",
    """CREATE TABLE IF NOT EXISTS simulation_events (
        event_id BIGINT NOT NULL,
        run_id INTEGER NOT NULL,
        simulation_year INTEGER NOT NULL,
        employee_key INTEGER NOT NULL,
        event_type planwise_event_type NOT NULL,
        event_sequence INTEGER NOT NULL,
        effective_date DATE NOT NULL,
        previous_job_level INTEGER,
        new_job_level INTEGER NOT NULL,
        previous_salary DOUBLE,
        new_salary DOUBLE NOT NULL,
        merit_rate DOUBLE,
        performance_rating INTEGER,
        termination_reason planwise_termination_reason,
        hazard_weight DOUBLE
    )""",
    """CREATE TABLE IF NOT EXISTS simulation_snapshots (
        run_id INTEGER NOT NULL,
        simulation_year INTEGER NOT NULL,
        employee_key INTEGER NOT NULL,
        termination_date DATE,
        start_job_level INTEGER NOT NULL,
        job_level INTEGER NOT NULL,
        start_annual_salary DOUBLE NOT NULL,
        annual_salary DOUBLE NOT NULL,
        prorated_compensation DOUBLE NOT NULL,
        detailed_status_code planwise_status_code NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS simulation_hires (
        run_id INTEGER NOT NULL,
        employee_key INTEGER NOT NULL,
        employee_id VARCHAR NOT NULL,
        birth_date DATE NOT NULL,
        hire_date DATE NOT NULL,
        gender VARCHAR
    )""",
    # A run's part is visible once the run is completed, up to its end year: a large run
    # is committed in parts (runs.COMMIT_ROWS) and a continuation adds years before it
    # moves the end year, so readers never see half a run.
    """CREATE OR REPLACE VIEW completed_runs AS
    SELECT run_id, census_id, start_year, end_year
    FROM simulation_runs WHERE status = 'completed'""",
    """CREATE OR REPLACE VIEW simulation_employees AS
    SELECT run.run_id, census.workforce_key AS employee_key, census.employee_id,
           census.birth_date, census.hire_date, census.gender
    FROM completed_runs AS run
    JOIN census ON census.census_id = run.census_id AND census.workforce_key IS NOT NULL
    UNION ALL
    SELECT hire.run_id, hire.employee_key, hire.employee_id, hire.birth_date, hire.hire_date,
           hire.gender
    FROM simulation_hires AS hire
    JOIN completed_runs AS run USING (run_id)
    WHERE year(hire.hire_date) <= run.end_year""",
    """CREATE OR REPLACE VIEW fct_yearly_events AS
    SELECT
        event.event_id,
        event.run_id,
        event.simulation_year,
        employee.employee_id,
        event.event_type::VARCHAR AS event_type,
        event.event_sequence,
        event.effective_date,
        event.previous_job_level,
        event.new_job_level,
        event.previous_salary,
        event.new_salary,
        event.merit_rate,
        event.performance_rating,
        event.termination_reason::VARCHAR AS termination_reason,
        event.hazard_weight,
        event.employee_key
    FROM simulation_events AS event
    JOIN simulation_employees AS employee USING (run_id, employee_key)
    JOIN completed_runs AS run USING (run_id)
    WHERE event.simulation_year <= run.end_year""",
    f"""CREATE OR REPLACE VIEW fct_workforce_snapshot AS
    SELECT
        snapshot.run_id,
        snapshot.simulation_year,
        employee.employee_id,
        employee.birth_date,
        employee.hire_date,
        snapshot.termination_date,
        snapshot.start_job_level,
        snapshot.job_level,
        snapshot.start_annual_salary,
        snapshot.annual_salary,
        snapshot.prorated_compensation,
        CASE WHEN {IS_ACTIVE}
             THEN 'active' ELSE 'terminated' END AS employment_status,
        snapshot.detailed_status_code::VARCHAR AS detailed_status_code,
        employee.gender,
        snapshot.employee_key
    FROM simulation_snapshots AS snapshot
    JOIN simulation_employees AS employee USING (run_id, employee_key)
    JOIN completed_runs AS run USING (run_id)
    WHERE snapshot.simulation_year <= run.end_year""",
    """CREATE TABLE IF NOT EXISTS simulation_metrics (
        run_id INTEGER NOT NULL,
        simulation_year INTEGER,
        metric_name VARCHAR NOT NULL,
        metric_value DOUBLE
    )""",
    # An ensemble: scenarios simulated under the same seeds (common random numbers), each
    # member's §7 metrics kept; full events only for the members asked for (`run_id`).
    """CREATE TABLE IF NOT EXISTS ensembles (
        ensemble_id INTEGER PRIMARY KEY,
        census_id VARCHAR NOT NULL,
        scenarios VARCHAR NOT NULL,
        parameter_sets VARCHAR NOT NULL,
        first_seed BIGINT NOT NULL,
        seeds INTEGER NOT NULL,
        start_year INTEGER NOT NULL,
        years INTEGER NOT NULL,
        workers INTEGER,
        scheduler VARCHAR,
        timings VARCHAR,
        created_at TIMESTAMP NOT NULL,
        created_by VARCHAR NOT NULL,
        settings_json VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ensemble_members (
        ensemble_id INTEGER NOT NULL,
        scenario_id VARCHAR NOT NULL,
        parameter_set_id INTEGER NOT NULL,
        seed BIGINT NOT NULL,
        run_id INTEGER,
        seconds DOUBLE
    )""",
    """CREATE TABLE IF NOT EXISTS ensemble_member_metrics (
        ensemble_id INTEGER NOT NULL,
        scenario_id VARCHAR NOT NULL,
        seed BIGINT NOT NULL,
        simulation_year INTEGER,
        metric_name VARCHAR NOT NULL,
        metric_value DOUBLE
    )""",
    """CREATE TABLE IF NOT EXISTS optimization_runs (
        optimization_id INTEGER PRIMARY KEY,
        scenario_id VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        mode VARCHAR NOT NULL,
        targets VARCHAR NOT NULL,
        converged BOOLEAN NOT NULL,
        iterations INTEGER NOT NULL,
        simulations INTEGER NOT NULL,
        replays INTEGER NOT NULL,
        start_parameter_set_id INTEGER NOT NULL,
        best_parameter_set_id INTEGER,
        seed BIGINT NOT NULL,
        stop_reason VARCHAR,
        report VARCHAR,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP
    )""",
    # Who is writing a running optimization, and when it last stored progress: a reader
    # tells a live optimization from one whose process is gone ("interrupted").
    "ALTER TABLE optimization_runs ADD COLUMN IF NOT EXISTS writer_host VARCHAR",
    "ALTER TABLE simulation_runs ADD COLUMN IF NOT EXISTS pending_end_year INTEGER",
    # False for a run kept as metrics only (a tuning loop's intermediate simulations).
    "ALTER TABLE simulation_runs ADD COLUMN IF NOT EXISTS events_stored BOOLEAN",
    "ALTER TABLE optimization_runs ADD COLUMN IF NOT EXISTS writer_pid INTEGER",
    "ALTER TABLE optimization_runs ADD COLUMN IF NOT EXISTS writer_started_at DOUBLE",
    "ALTER TABLE optimization_runs ADD COLUMN IF NOT EXISTS heartbeat_at TIMESTAMP",
    """CREATE TABLE IF NOT EXISTS optimization_iterations (
        optimization_id INTEGER NOT NULL,
        iteration INTEGER NOT NULL,
        kind VARCHAR NOT NULL,
        parameter_set_id INTEGER,
        run_id INTEGER,
        levers VARCHAR,
        metrics VARCHAR,
        residuals VARCHAR,
        within_tolerance BOOLEAN,
        error VARCHAR,
        created_at TIMESTAMP NOT NULL
    )""",
)

BACKFILL_STATEMENTS: tuple[str, ...] = (
    # A workspace from before the activation log: its active sets became active when made.
    """INSERT INTO parameter_set_activations
    SELECT parameter_set_id, scenario_id, created_at, created_by, source
    FROM parameter_sets
    WHERE is_active AND parameter_set_id NOT IN
        (SELECT parameter_set_id FROM parameter_set_activations)""",
)
