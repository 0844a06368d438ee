{#- Fragments more than one query needs, written once. Import with
    {% from "macros.sql" import segment_current %} -#}

{#- A segment_membership row (table or alias ``row``) current on the day ``on`` (an SQL
    date expression, default the bound ``:as_of``): valid from that day or before and not
    yet ended, as the mart's SCD2 intervals are half-open. -#}
{% macro segment_current(row="segment_membership", on="cast(:as_of as date)") -%}
{{ row }}.valid_from <= {{ on }} and ({{ row }}.valid_to is null or {{ row }}.valid_to > {{ on }})
{%- endmacro %}

{#- Only the accounts of the planner shard ``:shard`` when the query is rendered with
    ``in_shard`` (import ``with context``); ``keyword`` joins it to the query. -#}
{% macro shard_filter(column="account_id", keyword="and") -%}
{%- if in_shard %}
{{ keyword }} {{ column }} in (select account_id from plan_accounts
    where plan_date = :as_of and shard = :shard)
{%- endif %}
{%- endmacro %}

{#- The accounts with a scheduled human touch on the plan date ``:as_of``: a call or meeting
    (``channels``, bound as ``:channel_1``... by PlannerPolicy.human_channel_params) of an
    account with a CSM, not transactional. -#}
{% macro accounts_with_human_touch(channels) -%}
select h.account_id
    from communication_calendar as h
    where h.plan_date = :as_of
      and h.status = 'scheduled'
      and h.csm_id is not null
      and coalesce(h.message_type, '') <> 'transactional'
      and h.channel in ({% for channel in channels %}:channel_{{ loop.index }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}
