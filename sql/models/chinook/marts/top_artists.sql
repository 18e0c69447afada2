with

fact_invoice_line as (
    select * from {{ ref('fact_invoice_line') }}
),

dim_track as (
    select * from {{ ref('dim_track') }}
),

dim_artist as (
    select * from {{ ref('dim_artist') }}
),

-- An artist is reached through the track's album; tracks without an album form one row with a
-- NULL artist_id.
artist_sales as (
    select
        dim_track.artist_id,
        cast(sum(fact_invoice_line.line_amount) as decimal(18, 2)) as revenue,
        cast(sum(fact_invoice_line.quantity) as bigint) as units,
        count(distinct fact_invoice_line.invoice_id) as invoices
    from fact_invoice_line
    left join dim_track
        on dim_track.track_id = fact_invoice_line.track_id
    group by dim_track.artist_id
),

-- Ties are broken by id, so every rank is unique and stable.
ranked as (
    select
        artist_id,
        revenue,
        units,
        invoices,
        rank() over (order by revenue desc, artist_id nulls last) as revenue_rank,
        rank() over (order by units desc, artist_id nulls last) as units_rank
    from artist_sales
),

final as (
    select
        ranked.artist_id,
        dim_artist.artist_name,
        ranked.revenue,
        ranked.units,
        ranked.invoices,
        ranked.revenue_rank,
        ranked.units_rank
    from ranked
    left join dim_artist
        on dim_artist.artist_id = ranked.artist_id
)

select * from final
