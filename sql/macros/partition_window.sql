{# The daily partition window Dagster runs: [window_start, window_end), dates as YYYY-MM-DD.
   Passed as environment variables rather than --vars: dbt re-parses the whole project when
   vars change (≈5 s a run) but only the files that read an env var when its value changes.
   Without them (a hand-run `dbt build`) every day is rebuilt. #}
{% macro window_start() -%}
    cast('{{ env_var("MUSIC_DWH_WINDOW_START", "1900-01-01") }}' as date)
{%- endmacro %}

{% macro window_end() -%}
    cast('{{ env_var("MUSIC_DWH_WINDOW_END", "2999-12-31") }}' as date)
{%- endmacro %}

{# Pre-hook of daily incremental models: empty the window before appending it again, so a
   re-run (even one that now yields no rows) leaves exactly the new rows. Runs in the model's
   transaction. #}
{% macro delete_partition_window(column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ column }} >= {{ window_start() }} and {{ column }} < {{ window_end() }}
    {%- endif -%}
{%- endmacro %}
