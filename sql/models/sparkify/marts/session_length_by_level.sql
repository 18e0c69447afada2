with

session_lengths as (
    select * from {{ ref('session_lengths') }}
),

final as (
    select
        date_day,
        level,
        count(*) as sessions,
        cast(sum(songs) as bigint) as songs,
        -- DECIMAL(38,2), the engines' own sum type: 2^31 sessions of the longest possible
        -- length (52,597,440 minutes, see session_lengths) would not fit DECIMAL(18,2).
        cast(sum(minutes) as decimal(38, 2)) as minutes,
        {{ divide_decimal('sum(songs)', 'count(*)', scale=2, precision=12) }} as average_songs,
        {{ divide_decimal('sum(minutes)', 'count(*)', scale=2, precision=12) }} as average_minutes,
        max(songs) as longest_songs,
        max(minutes) as longest_minutes
    from session_lengths
    group by date_day, level
)

select * from final
