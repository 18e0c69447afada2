{# The body of the catalogue ranking marts (top_tracks, top_albums, top_artists, top_genres):
   the invoice lines' revenue, units and invoices per value of `key`, a column of dim_track
   (track_id, album_id, artist_id, genre_id), ranked by revenue and by units (1 = best; ties
   broken by the key, NULL last, so every rank is unique and stable), then described by the
   `columns` of the dimension model `dimension` (its name) that holds the key. Sales of tracks
   without a value for the key (album and genre are optional in Chinook) form one row with a
   NULL key. #}
{% macro sales_ranking(key, dimension, columns) -%}
    {#- A line's own track_id; its track's album, artist or genre. -#}
    {%- set sales_key = ('fact_invoice_line.' if key == 'track_id' else 'dim_track.') ~ key %}
    with

    fact_invoice_line as (
        select * from {{ ref('fact_invoice_line') }}
    ),

    dim_track as (
        select * from {{ ref('dim_track') }}
    ),

    {% if dimension != 'dim_track' -%}
        {{ dimension }} as (
            select * from {{ ref(dimension) }}
        ),
    {%- endif %}

    sales as (
        select
            {{ sales_key }} as {{ key }},
            cast(sum(fact_invoice_line.line_amount) as decimal(18, 2)) as revenue,
            cast(sum(fact_invoice_line.quantity) as bigint) as units,
            count(distinct fact_invoice_line.invoice_id) as invoices
        from fact_invoice_line
        left join dim_track
            on dim_track.track_id = fact_invoice_line.track_id
        group by {{ sales_key }}
    ),

    ranked as (
        select
            {{ key }},
            revenue,
            units,
            invoices,
            rank() over (order by revenue desc, {{ key }} nulls last) as revenue_rank,
            rank() over (order by units desc, {{ key }} nulls last) as units_rank
        from sales
    ),

    final as (
        select
            ranked.{{ key }},
            {{ dimension }}.{{ columns | join(', ' ~ dimension ~ '.') }},
            ranked.revenue,
            ranked.units,
            ranked.invoices,
            ranked.revenue_rank,
            ranked.units_rank
        from ranked
        left join {{ dimension }}
            on {{ dimension }}.{{ key }} = ranked.{{ key }}
    )

    select * from final
{%- endmacro %}
