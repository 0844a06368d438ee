-- Tables of the validation step, created up front so their types never depend on the
-- first run's data (an empty first quarantine would otherwise make every column text).
create table if not exists quarantine (
    entity text not null,
    row text not null,            -- the source row as JSON, every value as text
    rule text not null,           -- "<entity>.<column>: <expectation>"; several joined by "; "
    run_id text not null,
    as_of_date date not null
);

create table if not exists validation_results (
    run_id text not null,
    as_of_date date not null,
    entity text not null,
    expectation text not null,
    column_name text not null,
    rule text not null,
    success boolean not null,
    element_count bigint,
    unexpected_count bigint
);
