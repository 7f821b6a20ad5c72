"""Names people use for places that pycountry does not carry.

pycountry gives each ISO 3166-2 subdivision one Latin name, often in a romanisation nobody on
the ground writes ("Kaoh Kong", "Baat Dambang"). Caseworkers type the everyday English spelling
or the Khmer name, so each Cambodian province is listed here with its Khmer name and the
spellings in common use. Matching goes through ``orgs.places.normalise``, so case, spaces,
hyphens, diacritics and the usual romanisation swaps (Kaoh/Koh, Kompong/Kampong, Preas/Preah)
need not be listed one by one.
"""

from __future__ import annotations

from typing import Final

# code: (everyday English name, Khmer name, other spellings in use)
CAMBODIAN_PROVINCES: Final[dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "KH-1": ("Banteay Meanchey", "បន្ទាយមានជ័យ", ("Banteay Mean Chey",)),
    "KH-2": ("Battambang", "បាត់ដំបង", ("Batdambang",)),
    "KH-3": ("Kampong Cham", "កំពង់ចាម", ()),
    "KH-4": ("Kampong Chhnang", "កំពង់ឆ្នាំង", ("Kampong Chnang",)),
    "KH-5": ("Kampong Speu", "កំពង់ស្ពឺ", ()),
    "KH-6": ("Kampong Thom", "កំពង់ធំ", ()),
    "KH-7": ("Kampot", "កំពត", ()),
    # Both subscripts are written for the "d" of Kandal: ្ដ (da) and ្ត (ta).
    "KH-8": ("Kandal", "កណ្ដាល", ("កណ្តាល",)),
    "KH-9": ("Koh Kong", "កោះកុង", ()),
    "KH-10": ("Kratie", "ក្រចេះ", ("Kratié",)),
    "KH-11": ("Mondulkiri", "មណ្ឌលគិរី", ("Mondul Kiri",)),
    "KH-12": ("Phnom Penh", "ភ្នំពេញ", ()),
    "KH-13": ("Preah Vihear", "ព្រះវិហារ", ()),
    "KH-14": ("Prey Veng", "ព្រៃវែង", ()),
    "KH-15": ("Pursat", "ពោធិ៍សាត់", ("Posat",)),
    "KH-16": ("Ratanakiri", "រតនគិរី", ("Ratanak Kiri", "Rattanakiri")),
    "KH-17": ("Siem Reap", "សៀមរាប", ()),
    "KH-18": ("Preah Sihanouk", "ព្រះសីហនុ", ("Sihanoukville", "Kampong Som")),
    "KH-19": ("Stung Treng", "ស្ទឹងត្រែង", ("Steung Treng",)),
    "KH-20": ("Svay Rieng", "ស្វាយរៀង", ()),
    "KH-21": ("Takeo", "តាកែវ", ("Takev",)),
    "KH-22": ("Oddar Meanchey", "ឧត្តរមានជ័យ", ("Oddar Mean Chey",)),
    "KH-23": ("Kep", "កែប", ()),
    "KH-24": ("Pailin", "ប៉ៃលិន", ()),
    "KH-25": ("Tboung Khmum", "ត្បូងឃ្មុំ", ("Tbong Khmum",)),
}

# Countries of the network by their Khmer names (the Latin ones come from pycountry).
KHMER_COUNTRY_NAMES: Final[dict[str, str]] = {
    "KH": "កម្ពុជា",
    "TH": "ថៃ",
    "MY": "ម៉ាឡេស៊ី",
    "CN": "ចិន",
    "VN": "វៀតណាម",
}

# Everyday names of destination-country subdivisions whose ISO name differs.
OTHER_SPELLINGS: Final[dict[str, tuple[str, ...]]] = {
    "TH-10": ("Bangkok",),
    "MY-14": ("Kuala Lumpur",),
    "VN-SG": ("Ho Chi Minh City", "Saigon"),
    "VN-HN": ("Hanoi",),
}

# Countries whose subdivisions are searchable by name (any country is searchable by code).
NAMED_COUNTRIES: Final[tuple[str, ...]] = ("KH", "TH", "MY", "CN", "VN")
