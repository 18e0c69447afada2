with

fact_invoice_line as (
    select * from {{ ref('fact_invoice_line') }}
),

dim_track as (
    select * from {{ ref('dim_track') }}
),

dim_album as (
    select * from {{ ref('dim_album') }}
),

-- Tracks without an album (album_id is optional in Chinook) form one row with a NULL album_id.
album_sales as (
    select
        dim_track.album_id,
        cast(sum(fact_invoice_line.line_amount) as decimal(18, 2)) as revenue,
        cast(sum(fact_invoice_line.quantity) as bigint) as units,
        count(distinct fact_invoice_line.invoice_id) as invoices
    from fact_invoice_line
    left join dim_track
        on dim_track.track_id = fact_invoice_line.track_id
    group by dim_track.album_id
),

-- Ties are broken by id, so every rank is unique and stable.
ranked as (
    select
        album_id,
        revenue,
        units,
        invoices,
        rank() over (order by revenue desc, album_id nulls last) as revenue_rank,
        rank() over (order by units desc, album_id nulls last) as units_rank
    from album_sales
),

final as (
    select
        ranked.album_id,
        dim_album.album_title,
        dim_album.artist_id,
        dim_album.artist_name,
        ranked.revenue,
        ranked.units,
        ranked.invoices,
        ranked.revenue_rank,
        ranked.units_rank
    from ranked
    left join dim_album
        on dim_album.album_id = ranked.album_id
)

select * from final
