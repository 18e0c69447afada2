with

fact_invoice_line as (
    select * from {{ ref('fact_invoice_line') }}
),

dim_track as (
    select * from {{ ref('dim_track') }}
),

track_sales as (
    select
        track_id,
        cast(sum(line_amount) as decimal(18, 2)) as revenue,
        cast(sum(quantity) as bigint) as units,
        count(distinct invoice_id) as invoices
    from fact_invoice_line
    group by track_id
),

-- Ties are broken by id, so every rank is unique and stable.
ranked as (
    select
        track_id,
        revenue,
        units,
        invoices,
        rank() over (order by revenue desc, track_id) as revenue_rank,
        rank() over (order by units desc, track_id) as units_rank
    from track_sales
),

final as (
    select
        ranked.track_id,
        dim_track.track_name,
        dim_track.album_id,
        dim_track.album_title,
        dim_track.artist_id,
        dim_track.artist_name,
        dim_track.genre_id,
        dim_track.genre_name,
        ranked.revenue,
        ranked.units,
        ranked.invoices,
        ranked.revenue_rank,
        ranked.units_rank
    from ranked
    left join dim_track
        on dim_track.track_id = ranked.track_id
)

select * from final
