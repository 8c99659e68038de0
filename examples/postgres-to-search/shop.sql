-- An existing shop database: customers and their orders. Run with psql against the database the
-- pipelines read (README.md).
create table if not exists public.customers (
  id serial primary key,
  name text not null,
  email text not null
);
create table if not exists public.orders (
  id serial primary key,
  customer_id int not null references public.customers (id),
  status text not null default 'new',
  total numeric(10,2) not null,
  placed_at timestamptz not null default now()
);
-- Full old rows in updates and deletes (docs/sources.md, "before").
alter table public.orders replica identity full;

insert into public.customers (name, email)
select 'Customer ' || g, 'customer' || g || '@example.com' from generate_series(1, 100) g;
insert into public.orders (customer_id, status, total)
select 1 + g % 100, (array['new', 'paid', 'shipped', 'cancelled'])[1 + g % 4], round((random() * 200)::numeric, 2)
from generate_series(1, 1000) g;
