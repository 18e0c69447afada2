with

fact_invoice_line as (
    select * from {{ ref('fact_invoice_line') }}
),

dim_track as (
    select * from {{ ref('dim_track') }}
),

dim_genre as (
    select * from {{ ref('dim_genre') }}
),

-- Tracks without a genre (genre_id is optional in Chinook) form one row with a NULL genre_id.
genre_sales as (
    select
        dim_track.genre_id,
        cast(sum(fact_invoice_line.line_amount) as decimal(18, 2)) as revenue,
        cast(sum(fact_invoice_line.quantity) as bigint) as units,
        count(distinct fact_invoice_line.invoice_id) as invoices
    from fact_invoice_line
    left join dim_track
        on dim_track.track_id = fact_invoice_line.track_id
    group by dim_track.genre_id
),

-- Ties are broken by id, so every rank is unique and stable.
ranked as (
    select
        genre_id,
        revenue,
        units,
        invoices,
        rank() over (order by revenue desc, genre_id nulls last) as revenue_rank,
        rank() over (order by units desc, genre_id nulls last) as units_rank
    from genre_sales
),

final as (
    select
        ranked.genre_id,
        dim_genre.genre_name,
        ranked.revenue,
        ranked.units,
        ranked.invoices,
        ranked.revenue_rank,
        ranked.units_rank
    from ranked
    left join dim_genre
        on dim_genre.genre_id = ranked.genre_id
)

select * from final
