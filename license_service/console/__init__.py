"""The window's console (``/console/``): what a clerk at the market regulation bureau does all day —
search, the entity's page, print the paper license, 补发 with a supervisor's approval, a holder's
invitation, verification for people — and the accountability of every staff action."""
