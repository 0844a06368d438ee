{#- Fragments more than one query needs, written once. Import with
    {% from "macros.sql" import segment_current %} -#}

{#- A segment_membership row (table or alias ``row``) current on the day ``on`` (an SQL
    date expression, default the bound ``:as_of``): valid from that day or before and not
    yet ended, as the mart's SCD2 intervals are half-open. -#}
{% macro segment_current(row="segment_membership", on="cast(:as_of as date)") -%}
{{ row }}.valid_from <= {{ on }} and ({{ row }}.valid_to is null or {{ row }}.valid_to > {{ on }})
{%- endmacro %}
