{# Small SQL helpers shared by models and tests. #}

{% macro round_half_up(expression) -%}
    {#- The engine's rounding (rules.round_half_up): halves away from zero for positives. -#}
    cast(floor({{ expression }} + 0.5) as bigint)
{%- endmacro %}

{% macro days_in_year(year) -%}
    datediff('day', make_date({{ year }}, 1, 1), make_date({{ year }} + 1, 1, 1))
{%- endmacro %}

{% macro money_tolerance() -%}
    {#- Half a cent: figures in currency are compared to the cent. -#}
    0.005
{%- endmacro %}
