"""Map layers of the dashboard (folium)."""
