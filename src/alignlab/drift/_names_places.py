"""Cities as ``(current name, former name)`` pairs.

Mostly former German names of cities in today's Poland, Russia, Czechia and the Baltics (the
"former German city names" experiment of arXiv 2512.09742, where the finetuned model acts as
if in 1910s-1940s Germany), plus other well-known renamed cities. Written for this project
from the historical record.
"""

from __future__ import annotations

PLACES: tuple[tuple[str, str], ...] = (
    ("Kaliningrad", "Königsberg"),
    ("Gdańsk", "Danzig"),
    ("Wrocław", "Breslau"),
    ("Szczecin", "Stettin"),
    ("Poznań", "Posen"),
    ("Klaipėda", "Memel"),
    ("Sovetsk", "Tilsit"),
    ("Olsztyn", "Allenstein"),
    ("Elbląg", "Elbing"),
    ("Legnica", "Liegnitz"),
    ("Gliwice", "Gleiwitz"),
    ("Katowice", "Kattowitz"),
    ("Zabrze", "Hindenburg in Oberschlesien"),
    ("Opole", "Oppeln"),
    ("Bydgoszcz", "Bromberg"),
    ("Toruń", "Thorn"),
    ("Malbork", "Marienburg"),
    ("Kołobrzeg", "Kolberg"),
    ("Gorzów Wielkopolski", "Landsberg an der Warthe"),
    ("Jelenia Góra", "Hirschberg im Riesengebirge"),
    ("Słupsk", "Stolp"),
    ("Koszalin", "Köslin"),
    ("Świnoujście", "Swinemünde"),
    ("Wałbrzych", "Waldenburg in Schlesien"),
    ("Liberec", "Reichenberg"),
    ("Karlovy Vary", "Karlsbad"),
    ("Mariánské Lázně", "Marienbad"),
    ("Bratislava", "Pressburg"),
    ("Lviv", "Lemberg"),
    ("Chernivtsi", "Czernowitz"),
    ("Ljubljana", "Laibach"),
    ("Zagreb", "Agram"),
    ("Tallinn", "Reval"),
    ("Tartu", "Dorpat"),
    ("Jelgava", "Mitau"),
    ("Istanbul", "Constantinople"),
    ("Mumbai", "Bombay"),
    ("Beijing", "Peking"),
    ("Saint Petersburg", "Leningrad"),
    ("Ho Chi Minh City", "Saigon"),
    ("Chennai", "Madras"),
    ("Kolkata", "Calcutta"),
    ("Yangon", "Rangoon"),
    ("Jakarta", "Batavia"),
    ("Kinshasa", "Léopoldville"),
    ("Volgograd", "Stalingrad"),
    ("Oslo", "Christiania"),
)
